/**
 * bf16 mixed precision for training: the model keeps its fp32 parameters (the master weights AdamW updates),
 * and every matrix product takes bf16 operands with fp32 sums (Kernels.matmulBf16). Everything else —
 * layernorm, attention, softmax, the loss, AdamW — stays fp32.
 *
 * `bf16Products(k)` is a Kernels whose products are bf16; a model built on it needs no change. An operand that
 * is a view of the parameter buffer (a weight, or the byte decoder's tied wte) is taken from a bf16 copy of
 * that buffer made once per step by `refresh()` (after AdamW), so a weight is rounded once, not at each of its
 * forward and backward products; activations and gradients are rounded as they come.
 */
import type { Kernels } from './types.js';
import { viewIndex } from './view.js';

export interface Bf16Products {
  readonly kernels: Kernels;
  /** Sets the parameter buffer whose views use the bf16 copy, and makes the copy. */
  attach(params: Float32Array): void;
  /** Rounds the parameters into the bf16 copy again (after every optimizer step). */
  refresh(): void;
}

export function bf16Products(k: Kernels): Bf16Products {
  let params: Float32Array | null = null, copy = new Uint16Array(0);
  // a view of the parameters becomes the same view of the copy; any other operand is rounded by the kernel
  const operand = (x: Float32Array): Float32Array | Uint16Array => {
    const at = viewIndex(params, x);
    return at >= 0 ? copy.subarray(at, at + x.length) : x;
  };
  const kernels: Kernels = {
    ...k,
    matmul: (C, A, B, bias, M, K, N, tA, tB, acc) => k.matmulBf16(C, operand(A), operand(B), bias, M, K, N, tA, tB, acc),
    matmulBiasGelu: (out, pre, A, B, bias, M, K, N) => {
      k.matmulBf16(pre, operand(A), operand(B), bias, M, K, N, false, false, false);
      k.geluForward(out, pre, M * N);
    },
  };
  return {
    kernels,
    attach(p) {
      params = p;
      if (copy.length !== p.length) copy = new Uint16Array(p.length);
      this.refresh();
    },
    refresh() {
      if (params) k.toBf16(copy, params, params.length);
    },
  };
}

/** What the CPU and oneDNN offer for bf16 products (see bf16Support). */
export interface Bf16Machine {
  /** CPU features as the native backend reports them (e.g. "avx512bf16", "amx-bf16"). */
  features: string[];
  /** oneDNN's implementation of a bf16 matmul here ("" when it has none). */
  onednn: string;
  cpu: string;
}

/** CPU features that compute bf16 products in hardware. */
export const BF16_FEATURES = ['avx512bf16', 'amx-bf16'];

/**
 * Whether `--precision bf16` may train here: on a CPU with avx512_bf16 or AMX (native backend), or anywhere
 * when `emulate` (BGPT_BF16_EMULATE=1) asks for a correctness run (oneDNN's emulation, else rounded operands
 * in fp32 products). `machine` null: no native backend. The refusal is one line naming what is missing.
 */
export function bf16Support(machine: Bf16Machine | null, emulate: boolean): { ok: true; how: string } | { ok: false; reason: string } {
  const hw = machine ? BF16_FEATURES.filter((f) => machine.features.includes(f)) : [];
  if (hw.length) return { ok: true, how: `bf16 products on ${hw.join(', ')} (oneDNN ${machine!.onednn || 'has none: rounded fp32 products'})` };
  const by = !machine ? 'the TypeScript backend' : machine.onednn ? `oneDNN ${machine.onednn}` : 'rounded operands in fp32 products';
  if (emulate) return { ok: true, how: `bf16 products emulated by ${by} (no avx512_bf16 or AMX): slow, for correctness checks` };
  const has = machine ? `this CPU (${machine.cpu}) has neither (${machine.features.filter((f) => f.startsWith('avx')).join(' ') || 'no AVX'})` : 'the native backend is not loaded';
  return { ok: false, reason: `--precision bf16 needs a CPU with avx512_bf16 or AMX-BF16 and the native backend: ${has}; supported here: --precision fp32 (or BGPT_BF16_EMULATE=1: bf16 emulated, slow, for correctness checks)` };
}
