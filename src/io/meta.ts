/**
 * What our checkpoints say about themselves, kept as safetensors `__metadata__` (strings only, so every
 * structured value is JSON): the model config, the task, the training state and the AdamW hyper-parameters.
 *
 *   format           "pt" (what other safetensors tools expect of torch-style weights)
 *   bgpt.checkpoint  "1" (format version; marks the file as ours)
 *   bgpt.version     the bgpt package version that wrote it
 *   bgpt.config      {"patchSize","patchLength","hidden","patchLayers","byteLayers","heads"}
 *   bgpt.task        {"kind":"generative"} | {"kind":"conversion","mode":"abc->mid"} |
 *                    {"kind":"classification","labels":["Business.txt",…]}  (labels in id order)
 *   bgpt.training    TrainingState (optional)
 *   bgpt.optimizer   {"step","lr","beta1","beta2","eps","weightDecay"} (optional; then the moments are the
 *                    tensors optimizer.m.<param> and optimizer.v.<param>)
 *   bgpt.provenance  how a shipped model was made: a JSON object (the command, the corpus manifest's hash,
 *                    the seed, the commit, the held-out figures; optional, shown by `bgpt inspect`)
 *
 * Numbers JSON cannot hold (±Infinity, NaN, −0) are written as {"$num":"Infinity"} etc., so every double
 * (best eval loss, RNG spare normal) round-trips bit-exactly.
 */
import { validateConfig, type BgptConfig } from '../model/config.js';
import type { Task } from '../model/task.js';
import type { AdamWOptions } from '../optim/adamw.js';
import { cosineWithWarmup } from '../optim/schedule.js';

/** Position in the cosine schedule with linear warm-up (docs/format.md §6). */
export interface ScheduleState {
  /** Scheduler steps taken (torch's last_epoch). */
  position: number;
  warmupSteps: number;
  totalSteps: number;
  baseLr: number;
}

export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Epoch of the best evaluation so far (0: none yet). */
  bestEpoch: number;
  /** Lowest evaluation loss so far (Infinity: none yet); generative and conversion training. */
  bestEvalLoss: number;
  /** Highest evaluation accuracy so far (classification). */
  bestEvalAcc?: number;
  schedule?: ScheduleState;
  /** Rng.getState() of each of the trainer's generators, by name. */
  rng?: Record<string, number[]>;
  /** Anything else the trainer needs to resume exactly (position in the epoch, file order, …). */
  extra?: Record<string, unknown>;
}

export interface OptimizerMeta extends AdamWOptions {
  step: number;
}

export const META = {
  format: 'format',
  checkpoint: 'bgpt.checkpoint',
  version: 'bgpt.version',
  config: 'bgpt.config',
  task: 'bgpt.task',
  training: 'bgpt.training',
  optimizer: 'bgpt.optimizer',
  provenance: 'bgpt.provenance',
} as const;

export const CHECKPOINT_VERSION = '1';
export const MOMENT_PREFIX = { m: 'optimizer.m.', v: 'optimizer.v.' } as const;

/** JSON with the non-finite numbers and −0 encoded. */
export function encodeJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (typeof x === 'number' && (!Number.isFinite(x) || Object.is(x, -0))) return { $num: Object.is(x, -0) ? '-0' : String(x) };
    return x;
  });
}

export function decodeJson(s: string, what: string): unknown {
  try {
    return JSON.parse(s, (_k, x) => {
      if (x && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 1 && typeof x.$num === 'string') {
        const n = x.$num === '-0' ? -0 : Number(x.$num);
        if (Number.isNaN(n) && x.$num !== 'NaN') throw new Error('bad number');
        return n;
      }
      return x;
    });
  } catch {
    throw new Error(`metadata ${what} is not valid JSON`);
  }
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isNum = (x: unknown): x is number => typeof x === 'number';

export function parseConfig(s: string): BgptConfig {
  const c = decodeJson(s, META.config);
  const keys = ['patchSize', 'patchLength', 'hidden', 'patchLayers', 'byteLayers', 'heads'] as const;
  if (!isObj(c) || !keys.every((k) => isInt(c[k]))) throw new Error(`metadata ${META.config} must hold ${keys.join(', ')} as integers`);
  const cfg = Object.fromEntries(keys.map((k) => [k, c[k]])) as unknown as BgptConfig;
  validateConfig(cfg);
  return cfg;
}

export function parseTask(s: string): Task {
  const t = decodeJson(s, META.task);
  if (isObj(t) && t.kind === 'generative') return { kind: 'generative' };
  if (isObj(t) && t.kind === 'conversion' && typeof t.mode === 'string' && /^[^>&]+(->|&)[^>&]+$/.test(t.mode)) return { kind: 'conversion', mode: t.mode };
  if (isObj(t) && t.kind === 'classification' && Array.isArray(t.labels) && t.labels.length > 0 && t.labels.every((l) => typeof l === 'string') && new Set(t.labels).size === t.labels.length
    && (t.reads === undefined || t.reads === 'head' || t.reads === 'ends')) {
    return t.reads === 'ends' ? { kind: 'classification', labels: t.labels as string[], reads: 'ends' } : { kind: 'classification', labels: t.labels as string[] };
  }
  throw new Error(`metadata ${META.task} must be {"kind":"generative"}, {"kind":"conversion","mode":"a->b"} or {"kind":"classification","labels":[distinct names],"reads":"ends" (optional)}`);
}

export function parseTraining(s: string): TrainingState {
  const t = decodeJson(s, META.training);
  const bad = (what: string): never => {
    throw new Error(`metadata ${META.training}: ${what}`);
  };
  if (!isObj(t)) return bad('not an object');
  if (!isInt(t.epoch) || !isInt(t.bestEpoch) || !isNum(t.bestEvalLoss)) bad('epoch, bestEpoch and bestEvalLoss are required numbers');
  if (t.bestEvalAcc !== undefined && !isNum(t.bestEvalAcc)) bad('bestEvalAcc must be a number');
  if (t.schedule !== undefined) {
    const s2 = t.schedule;
    if (!isObj(s2) || !isInt(s2.position) || !isInt(s2.warmupSteps) || !isInt(s2.totalSteps) || !isNum(s2.baseLr)) bad('schedule needs position, warmupSteps, totalSteps and baseLr');
  }
  if (t.rng !== undefined && (!isObj(t.rng) || !Object.values(t.rng).every((r) => Array.isArray(r) && r.every((x) => isNum(x) || x === null)))) bad('rng must map names to number arrays');
  if (t.extra !== undefined && !isObj(t.extra)) bad('extra must be an object');
  const rng = t.rng as Record<string, (number | null)[]> | undefined;
  return {
    ...(t as unknown as TrainingState),
    // JSON null for the "no spare normal" slot reads back as NaN, which is what Rng.getState wrote
    ...(rng ? { rng: Object.fromEntries(Object.entries(rng).map(([k, r]) => [k, r.map((x) => (x === null ? NaN : x))])) } : {}),
  };
}

export function parseOptimizer(s: string): OptimizerMeta {
  const o = decodeJson(s, META.optimizer);
  const keys = ['lr', 'beta1', 'beta2', 'eps', 'weightDecay'] as const;
  if (!isObj(o) || !isInt(o.step) || !keys.every((k) => isNum(o[k]))) throw new Error(`metadata ${META.optimizer} must hold step, ${keys.join(', ')}`);
  return { step: o.step as number, lr: o.lr as number, beta1: o.beta1 as number, beta2: o.beta2 as number, eps: o.eps as number, weightDecay: o.weightDecay as number };
}

/** Learning rate at the schedule's position (cosine with linear warm-up, as the trainer runs it). */
export function scheduledLr(s: ScheduleState): number {
  return s.baseLr * cosineWithWarmup(s.position, s.totalSteps, s.warmupSteps);
}
