/** Shared test helpers: the PyTorch reference vectors and the backends to run every check on. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeKernels, nativeLoadError, tsKernels, type Kernels } from '../src/backend/index.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VECTORS = join(ROOT, '..', 'shared', 'vectors');

export interface VectorCase {
  name: string;
  inputs: number[][];
  masks: number[][];
  num_target_patches: number;
  loss: number;
  logits_shape: number[];
  logits_head: { rows: number; positions: number; values: number[] };
  logits_sum: number;
  logits_abs_sum: number;
}

export interface Vectors {
  config: { HIDDEN_SIZE: number; PATCH_NUM_LAYERS: number; BYTE_NUM_LAYERS: number; n_head: number; PATCH_SIZE: number; PATCH_LENGTH: number };
  cases: VectorCase[];
  grads: { case: string; loss: number };
  adamw_step: { case: string; lr: number; betas: number[]; eps: number; weight_decay: number; loss_before: number; loss_after: number };
  patch_level: { input: number[]; shape: number[]; last_hidden_state: number[]; mean_pooled: number[] };
  generate_probs: { context_bytes: number[]; tokens: number[]; probs: number[]; argmax: number };
  classifier: { input: number[]; logits: number[]; label_size: number };
}

export const vectors: Vectors = JSON.parse(readFileSync(join(VECTORS, 'cases.json'), 'utf8'));

/** Every backend available here: ts always, native when the addon is built. */
export function backends(): Kernels[] {
  const n = nativeKernels();
  return n ? [tsKernels, n] : [tsKernels];
}

/** Reason the native backend is missing (tests that need it are skipped with it). */
export function nativeSkip(): string | false {
  return nativeKernels() ? false : `native backend not built: ${nativeLoadError()}`;
}

/** max |a−b| / max(max |b|, floor): error relative to the tensor's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0, m = floor;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

export function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
