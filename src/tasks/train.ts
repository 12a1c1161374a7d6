/**
 * The trainer (docs/format.md §6): AdamW with a cosine schedule and linear warm-up, gradient accumulation, patch
 * sampling, epochs with evaluation, best and last checkpoints written atomically, exact resume, NaN stop,
 * Ctrl-C that saves. Every random choice comes from one seeded Rng whose state is checkpointed.
 */
import { bf16Products } from '../backend/bf16.js';
import type { Kernels } from '../backend/types.js';
import {
  FileReader, conversionExamples, examplePatches, generativeExamples, labelledExamples, makeBatch, splitHeldOut,
  type ConversionMode, type Example,
} from '../data/dataset.js';
import type { Truncation } from '../data/patches.js';
import type { BgptConfig } from '../model/config.js';
import { PATCH_PREFIX } from '../model/params.js';
import type { ModelKind } from '../model/task.js';
import { modelForTask, type TaskModel } from '../model/task-model.js';
import { AdamW } from '../optim/adamw.js';
import { cosineWithWarmup, warmupSteps } from '../optim/schedule.js';
import { argmax } from '../util/argmax.js';
import { scoreSegments, type Segment } from '../api/score.js';
import { Rng } from '../util/rng.js';
import { loadModelFile } from '../io/weights.js';
import { loadTraining, saveTraining, taskOf, type TrainState } from './train-state.js';

export interface TrainOptions {
  task: ModelKind;
  convert?: ConversionMode;
  labelsFromFolders?: boolean;
  train: string[];
  eval: string[];
  /** Held-out fraction when no eval folders are given (docs/format.md §6: 1 %). */
  evalSplit: number;
  model: BgptConfig;
  batchSize: number;
  accumulation: number;
  epochs: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  patchSampling: number;
  /** GPT-2 dropout during training (the reference: 0.1; 0 = off). */
  dropout: number;
  evalEvery: number;
  seed: number;
  /** Checkpoint path (the best model); the last state goes beside it (see lastPath). */
  out: string;
  init?: string;
  resume?: boolean;
  /** Stop after this many optimizer steps (for tests and time-boxed runs; 0 = no limit). */
  maxSteps?: number;
  /** Optimizer steps the whole schedule spans, in place of epochs × steps per epoch (0: by epochs). */
  steps?: number;
  /** Keep each epoch's end state as well (epochPath), e.g. to score conversions per epoch afterwards. */
  keepEpochs?: boolean;
  /** Stop (and save) once this many seconds have passed in this run (0 = no limit). */
  maxSeconds?: number;
  /**
   * Matrix products in bf16 (fp32 sums) with fp32 master weights, AdamW and everything else (backend/bf16.ts);
   * default fp32. The caller checks that the machine supports it (cli: bf16Check).
   */
  precision?: 'fp32' | 'bf16';
  /** Which L patches of a longer training file (default 'random': head, body or tail, as the reference). */
  crop?: Truncation;
}

export interface StepLog {
  type: 'step';
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  bytes_per_s: number;
  elapsed_s: number;
  accuracy?: number;
}

export interface EvalLog {
  type: 'eval';
  step: number;
  epoch: number;
  loss: number;
  bpb?: number;
  accuracy?: number;
  best: boolean;
}

export interface TrainHooks {
  log(rec: StepLog | EvalLog | { type: 'info'; [k: string]: unknown }): void;
  progress?(p: { step: number; total: number; loss: number; bytesPerS: number; etaS: number; epoch: number }): void;
  warn?(msg: string): void;
  /** Polled between steps: true asks the trainer to save and stop. */
  interrupted?(): boolean;
}

export interface TrainResult {
  steps: number;
  stopped: 'done' | 'interrupted' | 'max-steps' | 'max-time';
  bestEvalLoss: number | null;
  lastEval: EvalLog | null;
  labels: string[];
}

/** Where the last (resumable) state goes: `model.safetensors` → `model.last.safetensors`. */
export function lastPath(out: string): string {
  return besideOut(out, 'last');
}

/** Where `--keep-epochs` keeps the state at the end of epoch n (1-based): `model.epoch-n.safetensors`. */
export function epochPath(out: string, n: number): string {
  return besideOut(out, `epoch-${n}`);
}

function besideOut(out: string, tag: string): string {
  const i = out.lastIndexOf('.safetensors');
  return i > 0 && i === out.length - 12 ? `${out.slice(0, i)}.${tag}.safetensors` : `${out}.${tag}`;
}

/**
 * Runs a training. Async only so that signals can arrive: the event loop gets a turn between steps, which
 * is when a Ctrl-C or SIGTERM handler can set the flag that `hooks.interrupted` reports.
 */
export async function train(k: Kernels, o: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const warn = hooks.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  const reader = new FileReader(warn);
  // bf16: the model computes on kernels whose products are bf16; AdamW updates its fp32 parameters on k
  const bf16 = o.precision === 'bf16' ? bf16Products(k) : null, mk = bf16?.kernels ?? k;
  const resumed = o.resume ? loadTraining(lastPath(o.out), mk) : null;
  const rng = new Rng(o.seed);

  // examples and the held-out split (the split uses its own seeded stream so resume rebuilds it exactly)
  let labels: string[] = resumed?.labels ?? [];
  let all: Example[];
  if (o.task === 'classification') {
    const r = labelledExamples(o.train, !!o.labelsFromFolders, labels, !!resumed);
    all = r.examples;
    labels = r.labels;
  } else all = o.convert ? conversionExamples(o.train, o.convert) : generativeExamples(o.train);
  let trainSet = all, held: Example[];
  if (o.eval.length) {
    held = o.task === 'classification' ? labelledExamples(o.eval, !!o.labelsFromFolders, labels, true).examples : o.convert ? conversionExamples(o.eval, o.convert) : generativeExamples(o.eval);
  } else {
    const s = splitHeldOut(all, o.evalSplit, new Rng(o.seed ^ 0x5eed));
    trainSet = s.train;
    held = s.held;
  }
  const perEpoch = Math.floor(trainSet.length / o.batchSize);
  if (perEpoch < o.accumulation) throw new Error(`${trainSet.length} training files make ${perEpoch} batches of ${o.batchSize}: fewer than the ${o.accumulation} accumulated per step`);
  const stepsPerEpoch = Math.floor(perEpoch / o.accumulation);
  const total = o.steps || stepsPerEpoch * o.epochs, warm = warmupSteps(total, o.warmup);

  // the model: resumed, initialised from a checkpoint, or new
  if (resumed) checkResumable(resumed.extra, o, lastPath(o.out));
  const model: TaskModel = resumed ? resumed.model : buildModel(mk, o, labels, rng);
  bf16?.attach(model.params.data);
  const opt = new AdamW(k, model.layout.size, { lr: o.lr, weightDecay: o.weightDecay });
  let state: TrainState = { step: 0, epoch: 0, batch: 0, bestEvalLoss: null, bestEvalAcc: null, bestEpoch: 0, rng: rng.getState() };
  if (resumed) {
    opt.restore(resumed.adam);
    state = resumed.state;
    rng.setState(state.rng);
  }
  const skip = unusedRanges(model);
  const S = o.model.patchSize, L = o.model.patchLength;
  hooks.log({ type: 'info', task: o.task, train_files: trainSet.length, eval_files: held.length, labels: labels.length || undefined, params: model.layout.count(), total_steps: total, warmup_steps: warm, resumed_at: resumed ? state.step : undefined, precision: bf16 ? 'bf16' : undefined });

  const save = (path: string) => saveTraining(path, {
    model, adam: opt, state: { ...state, rng: rng.getState() }, labels, options: o,
    schedule: { position: state.step, warmupSteps: warm, totalSteps: total, baseLr: o.lr },
  });
  let lastEval: EvalLog | null = null;
  const evaluate = (): EvalLog => {
    const r = evaluateExamples(model, held, reader, S, L, o.crop === 'ends' ? 'ends' : 'head');
    // weights that give a NaN held-out loss must not become the best or the last checkpoint
    if (!Number.isFinite(r.loss)) throw nanStop('held-out loss', r.loss, state.step, o.out);
    const better = o.task === 'classification'
      ? state.bestEvalAcc === null || r.accuracy! > state.bestEvalAcc || (r.accuracy === state.bestEvalAcc && r.loss < (state.bestEvalLoss ?? Infinity))
      : state.bestEvalLoss === null || r.loss < state.bestEvalLoss;
    if (better) {
      state.bestEpoch = state.epoch;
      state.bestEvalLoss = r.loss;
      if (r.accuracy !== undefined) state.bestEvalAcc = r.accuracy;
    }
    const rec: EvalLog = { type: 'eval', step: state.step, epoch: state.epoch, loss: r.loss, best: better, ...(o.task === 'classification' ? { accuracy: r.accuracy } : { bpb: r.loss / Math.LN2 }) };
    if (better) save(o.out);
    hooks.log(rec);
    return (lastEval = rec);
  };

  const t0 = performance.now();
  let bytes = 0, stopped: TrainResult['stopped'] = 'done', stepsThisRun = 0;
  const microPerEpoch = stepsPerEpoch * o.accumulation;
  outer: while (o.steps ? state.step < total : state.epoch < o.epochs) {
    // the epoch's order depends only on seed and epoch, so a resumed run replays it
    const order = new Rng((o.seed * 7919 + state.epoch) >>> 0).shuffle([...trainSet.keys()]);
    while (state.batch < microPerEpoch) {
      await new Promise((resolve) => setImmediate(resolve));
      if (hooks.interrupted?.()) {
        stopped = 'interrupted';
        break outer;
      }
      model.zeroGrad();
      let lossSum = 0, count = 0, correct: number | undefined;
      for (let a = 0; a < o.accumulation; a++, state.batch++) {
        const ex = order.slice(state.batch * o.batchSize, (state.batch + 1) * o.batchSize).map((i) => trainSet[i]);
        const b = makeBatch(ex, reader, S, L, o.crop ?? 'random', rng);
        if (!b) continue;
        bytes += b.batch.tokens.length;
        // summed losses: the micro-batches' gradients add up to exactly the gradient of one big batch
        const r = model.trainingLoss(b.batch, b.labels, { rng, dropout: o.dropout, sample: o.patchSampling });
        lossSum += r.sum;
        count += r.count;
        if (r.correct !== undefined) correct = (correct ?? 0) + r.correct;
        model.backward();
      }
      if (count === 0) continue;
      const loss = lossSum / count;
      if (!Number.isFinite(loss)) throw nanStop('loss', loss, state.step + 1, o.out);
      const g = model.params.grad!;
      for (let i = 0; i < g.length; i++) g[i] /= count;
      const lr = o.lr * cosineWithWarmup(state.step, total, warm);
      opt.update(model.params.data, g, lr, skip);
      bf16?.refresh();
      state.step++;
      stepsThisRun++;
      const el = (performance.now() - t0) / 1000;
      const rec: StepLog = { type: 'step', step: state.step, epoch: state.epoch, loss, lr, bytes_per_s: bytes / el, elapsed_s: el };
      if (correct !== undefined) rec.accuracy = correct / count;
      hooks.log(rec);
      hooks.progress?.({ step: state.step, total, loss, bytesPerS: bytes / el, etaS: (el / stepsThisRun) * (total - state.step), epoch: state.epoch });
      const epochDone = state.batch >= microPerEpoch;
      if (epochDone) {
        state.epoch++;
        state.batch = 0;
      }
      const scheduleDone = !!o.steps && state.step >= total;
      if (epochDone || scheduleDone || (o.evalEvery > 0 && state.step % o.evalEvery === 0)) {
        evaluate();
        save(lastPath(o.out));
        if (epochDone && o.keepEpochs) save(epochPath(o.out, state.epoch));
      }
      if (scheduleDone) break outer;
      if (o.maxSteps && stepsThisRun >= o.maxSteps) {
        stopped = 'max-steps';
        break outer;
      }
      if (o.maxSeconds && el >= o.maxSeconds) {
        stopped = 'max-time';
        // a time-boxed run ends with an evaluation of where it got to (unless one just happened)
        if (!epochDone && !(o.evalEvery > 0 && state.step % o.evalEvery === 0)) evaluate();
        break outer;
      }
      if (epochDone) continue outer;
    }
  }
  if (stopped !== 'done') save(lastPath(o.out));
  return { steps: state.step, stopped, bestEvalLoss: state.bestEvalLoss, lastEval, labels };
}

function nanStop(what: string, loss: number, step: number, out: string): Error {
  return new Error(`${what} became ${loss} at step ${step}; stopped without saving (the last checkpoint, ${lastPath(out)}, is intact); try a lower learning rate`);
}

/** A resumed run must split and order the files as the saved one did. */
function checkResumable(extra: Record<string, unknown>, o: TrainOptions, path: string): void {
  const now = { seed: o.seed, batchSize: o.batchSize, accumulation: o.accumulation, steps: o.steps || 0 };
  for (const key of ['seed', 'batchSize', 'accumulation', 'steps'] as const) {
    if (extra[key] !== undefined && extra[key] !== now[key]) throw new Error(`${path}: saved with ${key} ${String(extra[key])}, not ${now[key]}; resume with the same settings`);
  }
}


/**
 * A new model, or one initialised from a checkpoint (`--init`): a generative model takes every tensor, a
 * classifier only the patch-level decoder (its classifier head starts fresh). A model of a shorter context
 * takes the first rows of the checkpoint's position embedding (a detector that reads a file's head).
 */
function buildModel(k: Kernels, o: TrainOptions, labels: string[], rng: Rng): TaskModel {
  const fresh = modelForTask(k, o.model, taskOf(o, labels), { rng, grad: true });
  if (!o.init) return fresh;
  const src = loadModelFile(k, o.init);
  const srcLayout = src.model.layout, srcData = src.model.params.data;
  for (const s of fresh.layout.specs) {
    if (o.task === 'classification' && !s.name.startsWith('patch_level_decoder.')) continue;
    const from = srcLayout.byName.get(s.name);
    if (!from) throw new Error(`${o.init}: has no tensor ${s.name} to initialise from`);
    if (s.name === `${PATCH_PREFIX}wpe.weight` && from.shape[1] === s.shape[1] && from.shape[0] > s.shape[0]) {
      fresh.params.data.set(srcData.subarray(from.offset, from.offset + s.size), s.offset);
      continue;
    }
    if (from.shape.join() !== s.shape.join()) throw new Error(`${o.init}: tensor ${s.name} is [${from.shape}], this model needs [${s.shape}] (set the model size flags to the checkpoint's)`);
    fresh.params.data.set(srcData.subarray(from.offset, from.offset + from.size), s.offset);
  }
  return fresh;
}

/** Tensors that never receive a gradient (torch's AdamW skips them, so no weight decay either). */
function unusedRanges(m: TaskModel): [number, number][] {
  const s = m.layout.get('patch_level_decoder.base.wte.weight');
  return [[s.offset, s.size]];
}

/**
 * Held-out loss (token-weighted for generative models, api/score.ts) and accuracy (classifiers), each file cut
 * at its head, or (`cut` 'ends', a model trained on them) at its two ends.
 */
export function evaluateExamples(model: TaskModel, examples: Example[], reader: FileReader, S: number, L: number, cut: 'head' | 'ends' = 'head'): { loss: number; accuracy?: number } {
  if (model.kind === 'generative') {
    const segs: Segment[] = [];
    for (const e of examples) {
      const p = examplePatches(e, reader, S, L, cut);
      if (p) segs.push({ file: segs.length, patches: p.patches, from: 0, start: 0 });
    }
    if (!segs.length) throw new Error('no held-out file could be read');
    const { sums, counts } = scoreSegments(model, segs, segs.length);
    return { loss: sums.reduce((a, x) => a + x, 0) / counts.reduce((a, x) => a + x, 0) };
  }
  let sum = 0, count = 0, correct = 0;
  for (const e of examples) {
    const b = makeBatch([e], reader, S, L, cut);
    if (!b) continue;
    const r = model.forward(b.batch, b.labels);
    sum += r.loss!;
    count++;
    if (argmax(r.logits, 0, model.labels) === b.labels[0]) correct++;
  }
  if (count === 0) throw new Error('no held-out file could be read');
  return { loss: sum / count, accuracy: correct / count };
}
