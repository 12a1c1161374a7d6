/**
 * The trainer's resumable state, kept in our checkpoint format (io/checkpoint.ts): weights, AdamW moments
 * and step, and in `training` the epoch, the position in it, the optimizer step, the best evaluation and the
 * Rng state — everything a resumed run needs to continue exactly as an uninterrupted one.
 */
import type { Kernels } from '../backend/types.js';
import { conversionName, type ConversionMode } from '../data/dataset.js';
import { checkpointOf, loadCheckpoint, saveCheckpoint, type ScheduleState } from '../io/checkpoint.js';
import type { Truncation } from '../data/patches.js';
import type { ModelKind, Task } from '../model/task.js';
import { modelForTask, type TaskModel } from '../model/task-model.js';
import type { AdamW, AdamWState } from '../optim/adamw.js';

/** The run settings a checkpoint records (a subset of the trainer's options, so that this module need not import the trainer). */
export interface RunSettings {
  task: ModelKind;
  convert?: ConversionMode;
  seed: number;
  batchSize: number;
  accumulation: number;
  /** Steps the schedule spans (0 or absent: by epochs). */
  steps?: number;
  /** How longer training files are cut (a classifier trained on their ends reads files so: Task.reads). */
  crop?: Truncation;
}

export interface TrainState {
  /** Optimizer steps taken. */
  step: number;
  /** Current epoch (0-based) and micro-batches of it already done. */
  epoch: number;
  batch: number;
  bestEvalLoss: number | null;
  bestEvalAcc: number | null;
  /** Epochs completed when the best evaluation happened (0: none yet). */
  bestEpoch: number;
  /** Rng.getState() of the trainer's generator. */
  rng: number[];
}

export function taskOf(o: Pick<RunSettings, 'task' | 'convert' | 'crop'>, labels: string[]): Task {
  if (o.task === 'classification') return o.crop === 'ends' ? { kind: 'classification', labels, reads: 'ends' } : { kind: 'classification', labels };
  return o.convert ? { kind: 'conversion', mode: conversionName(o.convert) } : { kind: 'generative' };
}

/** `schedule`: where the learning-rate schedule stands (so that an export can hand the run on, see io/export.ts). */
export function saveTraining(path: string, t: { model: TaskModel; adam: AdamW; state: TrainState; labels: string[]; options: RunSettings; schedule?: ScheduleState }): void {
  const s = t.state;
  saveCheckpoint(path, checkpointOf(t.model, {
    task: taskOf(t.options, t.labels),
    optimizer: t.adam,
    training: {
      epoch: s.epoch,
      bestEpoch: s.bestEpoch,
      bestEvalLoss: s.bestEvalLoss ?? Infinity,
      ...(s.bestEvalAcc !== null ? { bestEvalAcc: s.bestEvalAcc } : {}),
      rng: { train: s.rng },
      ...(t.schedule ? { schedule: t.schedule } : {}),
      extra: { step: s.step, batch: s.batch, seed: t.options.seed, batchSize: t.options.batchSize, accumulation: t.options.accumulation, steps: t.options.steps || 0 },
    },
  }));
}

export interface ResumedTraining {
  model: TaskModel;
  adam: AdamWState;
  state: TrainState;
  labels: string[];
  extra: Record<string, unknown>;
}

export function loadTraining(path: string, k: Kernels): ResumedTraining {
  const ck = loadCheckpoint(path, { alloc: k.alloc });
  const tr = ck.training, opt = ck.optimizer;
  if (!tr || !opt || !tr.extra || !tr.rng?.train) throw new Error(`${path}: not a resumable training checkpoint (no optimizer or training state)`);
  const labels = ck.task.kind === 'classification' ? ck.task.labels : [];
  const model = modelForTask(k, ck.config, ck.task, { params: ck.params, grad: true });
  const extra = tr.extra;
  return {
    model, labels, extra,
    adam: { m: opt.m, v: opt.v, step: opt.step },
    state: {
      step: Number(extra.step), epoch: tr.epoch, batch: Number(extra.batch),
      bestEvalLoss: Number.isFinite(tr.bestEvalLoss) ? tr.bestEvalLoss : null,
      bestEvalAcc: tr.bestEvalAcc ?? null,
      bestEpoch: tr.bestEpoch ?? 0,
      rng: tr.rng.train,
    },
  };
}
