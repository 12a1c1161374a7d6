/**
 * Exact kernels: the inference operations of a bGPT with every output element computed by one fixed sequence
 * of IEEE single-precision operations (round to nearest, no fused multiply-add, no library exp/tanh, sums in
 * ascending index order). Any backend, thread count, batch size or machine therefore returns the same bits,
 * which is what lets a compressed file be decoded anywhere (docs/compression.md).
 *
 * Arrays are row-major Float32Arrays; `out` never aliases an input.
 */
export interface ExactKernels {
  readonly name: 'ts' | 'native';
  /**
   * out[r,n] = (Σ_k x[r,k]·w[k·ldw + n], k ascending from 0) + b[n]; w is [K, N] (GPT-2 Conv1D layout) with
   * rows ldw ≥ N apart (default N; see paddedStride).
   */
  linear(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array | null, R: number, K: number, N: number, ldw?: number): void;
  /**
   * `linear` with w holding IEEE half values: exactly `linear` on the floats they widen to, reading half the
   * bytes (a model stored in 16 bits). Optional: where absent, weights are given as floats.
   */
  linear16?(out: Float32Array, x: Float32Array, w: Uint16Array, b: Float32Array | null, R: number, K: number, N: number, ldw?: number): void;
  /** LayerNorm over rows of D (eps 1e-5): mean, then the mean of squared deviations, then ((x−μ)·rstd)·g + b. */
  layerNorm(out: Float32Array, x: Float32Array, g: Float32Array, b: Float32Array, R: number, D: number): void;
  /** gelu_new, elementwise, with tanh from the exact exp. */
  gelu(out: Float32Array, x: Float32Array, n: number): void;
  /**
   * Causal multi-head attention of B sequences of R new rows each. Queries: row (b,r) of `qkv` [B·R, 3H]
   * (its first H values). Keys and values of sequence b, position t: kv[(slot·seqStride + t)·kvStride + (0 | H) …]
   * with slot = slots[b] (default b) and seqStride ≥ its past + R (default past + R): several caches in one
   * array, any of them in any order. Sequence b has pasts[b] earlier positions (default `past` for all); its
   * row r attends to positions 0 … past + r. out [B·R, H].
   */
  attend(
    out: Float32Array, qkv: Float32Array, kv: Float32Array, kvStride: number, B: number, R: number, past: number, H: number, heads: number,
    seqStride?: number, slots?: Int32Array, pasts?: Int32Array,
  ): void;
  /** out[r,h] = (Σ_s wT[(s·V + tok[r,s])·H + h], s ascending) + bias[h]; wT is the patch embedding transposed. */
  patchEmbed(out: Float32Array, wT: Float32Array, bias: Float32Array, tokens: Int32Array, R: number, S: number, H: number, V: number): void;
  /** Integer frequencies of the 256 byte values from logits [R, 256]: 1 + ⌊softmax · FREQ_SPREAD⌋, each ≥ 1. */
  freqs(out: Int32Array, logits: Float32Array, R: number): void;
}

/**
 * A row stride for a weight of N columns: N itself unless its rows would lie a multiple of 512 bytes apart,
 * where a column block's rows share a few cache sets and evict each other (then 16 floats more).
 */
export function paddedStride(N: number): number {
  return N % 128 === 0 ? N + 16 : N;
}

/** What the softmax is spread over above the floor of 1 per symbol (the range coder's totals stay ≤ 2^16 + a few). */
export const FREQ_SPREAD = 65280;
