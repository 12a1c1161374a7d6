/**
 * The machine's limit for a training step: the step's floating-point work counted from the shapes, and the
 * fp32 matrix-product rate measured on this machine, so that a benchmark can say how close it runs to it.
 */
import type { Kernels } from '../backend/types.js';
import { VOCAB, type BgptConfig } from '../model/config.js';

/**
 * FLOPs (multiply and add counted apart) of one forward over B sequences of N patches, all valid: every
 * matrix product of both decoders and the tied LM head, plus attention as the dense T×T square that GPT-2
 * computes (q·kᵀ and att·v). Gathers, norms and elementwise work are left out (a few % at most).
 */
export function forwardFlops(cfg: BgptConfig, B: number, N: number): number {
  const { hidden: H, patchSize: S, patchLayers, byteLayers } = cfg;
  // a block: c_attn H→3H, c_proj H→H, c_fc H→4H, mlp c_proj 4H→H = 12H² multiply-adds per row
  const block = (rows: number, seqs: number, T: number) => 2 * rows * 12 * H * H + 4 * seqs * T * T * H;
  const pairs = B * (N - 1), T = S + 1;
  const patch = patchLayers * block(B * N, B, N);
  const byte = byteLayers * block(pairs * T, pairs, T) + 2 * pairs * T * H * VOCAB;
  return patch + byte;
}

/** A training step: forward, then a backward of twice its work (∂input and ∂weights of every product). */
export function trainFlops(cfg: BgptConfig, B: number, N: number): number {
  return 3 * forwardFlops(cfg, B, N);
}

export interface MatmulRate {
  /** [M, K, N] of the product: the MLP's c_fc of the byte decoder (the model's largest shape). */
  shape: [number, number, number];
  /** GFLOP/s of each orientation a training step uses (forward, ∂input, ∂weight), from the fastest call. */
  fwd_gflops: number;
  dx_gflops: number;
  dw_gflops: number;
  /** The three together: their FLOPs over the sum of their fastest times. */
  gflops: number;
}

/**
 * The fp32 matrix-product rate of `k` at the c_fc shape of hidden size H ([rows, H]·[H, 4H]), best of
 * `reps` calls per orientation after one warm-up call: a short measurement taken in the same run as the
 * benchmark it is compared with (the rate of a busy or throttled machine moves).
 */
export function measureMatmulRate(k: Kernels, H: number, rows = k.name === 'ts' ? 256 : 4096, reps = 5): MatmulRate {
  const M = rows, K = H, N = 4 * H;
  const a = filled(M * K), w = filled(K * N), c = new Float32Array(M * N), dx = new Float32Array(M * K), dw = new Float32Array(K * N);
  const best = (fn: () => void) => {
    fn();
    let t = Infinity;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      fn();
      t = Math.min(t, (performance.now() - t0) / 1000);
    }
    return t;
  };
  const tf = best(() => k.matmul(c, a, w, null, M, K, N, false, false, false));
  const tx = best(() => k.matmul(dx, c, w, null, M, N, K, false, true, false));
  const tw = best(() => k.matmul(dw, a, c, null, K, M, N, true, false, true));
  const f = 2 * M * K * N, g = (t: number) => +(f / t / 1e9).toFixed(1);
  return { shape: [M, K, N], fwd_gflops: g(tf), dx_gflops: g(tx), dw_gflops: g(tw), gflops: +((3 * f) / (tf + tx + tw) / 1e9).toFixed(1) };
}

function filled(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((Math.imul(i, 2654435761) >>> 0) % 1000) / 1000 - 0.5;
  return x;
}

/** Peak resident memory of this process so far, in MiB. */
export function peakRssMiB(): number {
  return +(process.resourceUsage().maxRSS / 1024).toFixed(1);
}
