/**
 * Our checkpoint: one safetensors file with the model's tensors (state-dict names, float32), the AdamW
 * moments as `optimizer.m.<name>` / `optimizer.v.<name>`, and `__metadata__` with the config, the task and
 * the training state (schema in meta.ts). Written to a temporary file, fsync'd and renamed, so a crash never
 * leaves a partial checkpoint. Everything is stored bit-exactly, so a resumed run continues exactly.
 *
 * Any other tool reading safetensors sees the weights under their original names (plus the moments).
 */
import type { Kernels } from '../backend/types.js';
import type { BgptConfig } from '../model/config.js';
import { buildLayout } from '../model/params.js';
import type { TaskModel } from '../model/task-model.js';
import { classCount, defaultLabels, type Task } from '../model/task.js';
import type { ParamLayout } from '../nn/layout.js';
import { AdamW } from '../optim/adamw.js';
import { fileError } from '../util/text.js';
import { VERSION } from '../version.js';
import { CHECKPOINT_VERSION, META, MOMENT_PREFIX, encodeJson, type OptimizerMeta, type TrainingState } from './meta.js';
import { openTensorSource } from './open.js';
import { writeSafetensors, type StTensor } from './safetensors.js';
import { isCheckpoint, readWeights, type ModelMeta } from './weights.js';
import { PLAIN, type Allocator } from '../util/aligned.js';

export type { ScheduleState, TrainingState } from './meta.js';

/** AdamW state: moments in the model's flat layout, the step count and the hyper-parameters. */
export interface OptimizerState extends OptimizerMeta {
  m: Float32Array;
  v: Float32Array;
}

export interface Checkpoint {
  config: BgptConfig;
  task: Task;
  /** Flat parameters in the order of buildLayout(config, classCount(task)). */
  params: Float32Array;
  optimizer?: OptimizerState;
  training?: TrainingState;
}

function sliceTensors(layout: ParamLayout, prefix: string, data: Float32Array): StTensor[] {
  return layout.specs.map((s) => ({ name: prefix + s.name, shape: s.shape, data: data.subarray(s.offset, s.offset + s.size) }));
}

/** Writes a checkpoint atomically. */
export function saveCheckpoint(path: string, ck: Checkpoint): void {
  const layout = buildLayout(ck.config, classCount(ck.task));
  if (ck.params.length !== layout.size) throw new Error(`${path}: ${ck.params.length} parameters given, the layout needs ${layout.size}`);
  const md: Record<string, string> = {
    [META.format]: 'pt',
    [META.checkpoint]: CHECKPOINT_VERSION,
    [META.version]: VERSION,
    [META.config]: encodeJson(ck.config),
    [META.task]: encodeJson(ck.task),
  };
  if (ck.training) md[META.training] = encodeJson(ck.training);
  const tensors = sliceTensors(layout, '', ck.params);
  if (ck.optimizer) {
    const { m, v, ...opt } = ck.optimizer;
    if (m.length !== layout.size || v.length !== layout.size) throw new Error(`${path}: optimizer moments do not match the parameter layout`);
    md[META.optimizer] = encodeJson({ step: opt.step, lr: opt.lr, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: opt.weightDecay });
    tensors.push(...sliceTensors(layout, MOMENT_PREFIX.m, m), ...sliceTensors(layout, MOMENT_PREFIX.v, v));
  }
  writeSafetensors(path, tensors, md);
}

export interface LoadedCheckpoint extends Checkpoint {
  layout: ParamLayout;
  meta: ModelMeta;
}

/**
 * Reads a checkpoint: ours in full (with the optimizer moments when `optimizer` is not false), or the
 * weights (and recorded epoch / best loss) of a torch .pth or plain safetensors file. Errors name the file.
 */
export function loadCheckpoint(path: string, opts: { optimizer?: boolean; alloc?: Allocator } = {}): LoadedCheckpoint {
  try {
    const src = openTensorSource(path);
    try {
      const alloc = opts.alloc ?? PLAIN, w = readWeights(src, 'fp32', alloc);
      const ck: LoadedCheckpoint = { config: w.config, task: w.task, params: w.params, layout: w.layout, meta: w.meta };
      if (isCheckpoint(src) && w.meta.training) ck.training = w.meta.training as TrainingState;
      else if (w.meta.training) {
        // what a torch checkpoint records: carried over on conversion
        const t = w.meta.training;
        ck.training = { epoch: t.epoch ?? 0, bestEpoch: t.bestEpoch ?? 0, bestEvalLoss: t.bestEvalLoss ?? Infinity };
        if (t.bestEvalAcc !== undefined) ck.training.bestEvalAcc = t.bestEvalAcc;
      }
      if (isCheckpoint(src) && w.meta.optimizer && opts.optimizer !== false) {
        const m = alloc.f32(w.layout.size), v = alloc.f32(w.layout.size);
        for (const s of w.layout.specs) {
          for (const [prefix, buf] of [[MOMENT_PREFIX.m, m], [MOMENT_PREFIX.v, v]] as const) {
            const e = src.tensors.get(prefix + s.name);
            if (!e) throw new Error(`missing tensor ${prefix + s.name}`);
            if (e.shape.join() !== s.shape.join()) throw new Error(`tensor ${prefix + s.name} has shape [${e.shape}], the model needs [${s.shape}]`);
            src.read(prefix + s.name, buf.subarray(s.offset, s.offset + s.size));
          }
        }
        ck.optimizer = { ...w.meta.optimizer, m, v };
      }
      return ck;
    } finally {
      src.close();
    }
  } catch (e) {
    throw fileError(path, e);
  }
}

/** The checkpoint of a live model (its buffers are referenced, not copied: save before changing them). */
export function checkpointOf(
  model: TaskModel,
  opts: { task?: Task; optimizer?: AdamW; training?: TrainingState } = {},
): Checkpoint {
  let task = opts.task;
  if (model.kind === 'classification') {
    task ??= { kind: 'classification', labels: defaultLabels(model.labels) };
    if (task.kind !== 'classification' || task.labels.length !== model.labels) throw new Error(`a classifier with ${model.labels} labels needs a classification task with as many label names`);
  } else {
    task ??= { kind: 'generative' };
    if (task.kind === 'classification') throw new Error('a generative model cannot be saved with a classification task');
  }
  const ck: Checkpoint = { config: model.cfg, task, params: model.params.data, training: opts.training };
  const o = opts.optimizer;
  if (o) {
    if (o.size !== model.layout.size) throw new Error('the optimizer does not match the model layout');
    ck.optimizer = { step: o.step, ...o.opts, m: o.m, v: o.v };
  }
  return ck;
}

/** An AdamW with the checkpoint's moments, step and hyper-parameters (for an exact resume). */
export function restoreAdamW(k: Kernels, ck: Checkpoint): AdamW {
  if (!ck.optimizer) throw new Error('the checkpoint holds no optimizer state');
  const { m, v, step, ...opts } = ck.optimizer;
  const a = new AdamW(k, m.length, opts);
  a.restore({ m, v, step });
  return a;
}
