/** Shared test helpers: the PyTorch reference vectors (test/fixtures) and the backends to run every check on. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeKernels, nativeLoadError, tsKernels, type Kernels } from '../src/backend/index.js';
import type { Batch, BgptModel } from '../src/model/bgpt.js';
import { VOCAB } from '../src/model/config.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
/** One head, two patch layers: the set most tests use. */
export const VECTORS = join(FIXTURES, 'vectors');
/** Two heads, one patch layer, and real files (no extension, a long extension, longer than the context). */
export const VECTORS_MH = join(FIXTURES, 'vectors-mh');

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

export function loadVectors(dir: string): Vectors {
  return JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
}

export const vectors: Vectors = loadVectors(VECTORS);

/** Both vector sets, for the checks that run on every configuration. */
export const vectorSets: { name: string; dir: string; vectors: Vectors }[] = [
  { name: 'vectors', dir: VECTORS, vectors },
  { name: 'vectors-mh', dir: VECTORS_MH, vectors: loadVectors(VECTORS_MH) },
];

/** Every backend available here: ts always, native when the addon is built. */
/**
 * Both backends by name for suites that must show a missing one: native carries the reason it is skipped
 * when the addon is absent (its kernels are then never called).
 */
export function everyBackend(): { name: string; kernels: Kernels; skip: string | false }[] {
  const n = nativeKernels();
  return [
    { name: 'ts', kernels: tsKernels, skip: false },
    { name: 'native', kernels: n ?? tsKernels, skip: nativeSkip() },
  ];
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

/** A vector case's inputs as a model batch. */
export function batchOf(c: { inputs: number[][]; masks: number[][] }): Batch {
  const B = c.inputs.length, N = c.masks[0].length;
  return { tokens: Int32Array.from(c.inputs.flat()), masks: Uint8Array.from(c.masks.flat()), B, N };
}

/** The Python with torch the PyTorch tests use, and why they are skipped when it has none. */
export const PYTHON = '/usr/bin/python3';
export const TORCH_REF = join(ROOT, 'python');
let torchProbe: string | false | undefined;
/** Probed once, when a test file asks (importing torch takes a second or more). */
export function torchSkip(): string | false {
  if (torchProbe === undefined) {
    const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
    torchProbe = r.status === 0 ? false : `no torch for ${PYTHON} (${(r.error?.message ?? r.stderr.trim().split('\n').pop()) || 'import failed'})`;
  }
  return torchProbe;
}

/** Runs python with bgpt_torch importable; returns the exit status and output. */
export function runPython(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', cwd, env: { ...process.env, PYTHONPATH: TORCH_REF } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Next-token distributions of a patch by full recomputation (no cache) through the model's forward. */
export function recomputeProbs(m: BgptModel, context: ArrayLike<number>, bytes: number[]): Float32Array {
  const { patchSize: S, hidden: H } = m.cfg, N = context.length / S;
  const F = m.patchDecoder.forward(Int32Array.from(context), 1, N, null, false);
  const targets = new Int32Array(S).fill(256);
  bytes.forEach((b, i) => (targets[i] = b));
  const r = m.byteDecoder.forward(F.slice((N - 1) * H, N * H), targets, 1, { logits: true });
  const probs = new Float32Array(VOCAB);
  m.k.softmax(probs, r.logits!.subarray(bytes.length * VOCAB, (bytes.length + 1) * VOCAB), 1, VOCAB);
  return probs;
}
