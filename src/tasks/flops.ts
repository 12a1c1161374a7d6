/**
 * The machine's limit for a training step: the step's floating-point work counted from the shapes, and the
 * fp32 matrix-product rate measured on this machine, so that a benchmark can say how close it runs to it.
 */
import type { HalfType, Kernels } from '../backend/types.js';
import { VOCAB, type BgptConfig } from '../model/config.js';
import { allocatorOf } from '../util/aligned.js';

/**
 * FLOPs (multiply and add counted apart) of one forward over B sequences of N patches, all valid: every
 * matrix product of both decoders and the tied LM head, plus attention as the dense T×T square that GPT-2
 * computes (q·kᵀ and att·v). Gathers, norms and elementwise work are left out (a few % at most). The byte
 * decoder runs the S positions that predict a byte (ByteLevelDecoder.forward), not the S + 1 of the reference.
 */
export function forwardFlops(cfg: BgptConfig, B: number, N: number): number {
  const { hidden: H, patchSize: S, patchLayers, byteLayers } = cfg;
  // a block: c_attn H→3H, c_proj H→H, c_fc H→4H, mlp c_proj 4H→H = 12H² multiply-adds per row
  const block = (rows: number, seqs: number, T: number) => 2 * rows * 12 * H * H + 4 * seqs * T * T * H;
  const pairs = B * (N - 1), T = S;
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
 * The fp32 matrix-product rate of `k` at the c_fc shape of hidden size H ([rows, H]·[H, 4H]): the fastest call
 * per orientation over every `sample` taken (each after one warm-up call). A benchmark samples it at several
 * moments of its own run: on a shared machine one burst of calls can land in a slow moment, and a rate taken
 * low flatters every fraction of it.
 */
export class MatmulRateProbe {
  private readonly M: number;
  private readonly K: number;
  private readonly N: number;
  private readonly bufs: { a: Float32Array; w: Float32Array; c: Float32Array; dx: Float32Array; dw: Float32Array };
  private best = [Infinity, Infinity, Infinity];

  constructor(private readonly k: Kernels, H: number, rows = k.name === 'ts' ? 256 : 4096) {
    [this.M, this.K, this.N] = [rows, H, 4 * H];
    const { M, K, N } = this;
    const f32 = allocatorOf(k).f32;
    this.bufs = { a: filled(k, M * K), w: filled(k, K * N), c: f32(M * N), dx: f32(M * K), dw: f32(K * N) };
  }

  /** `reps` more timed calls of each orientation (forward, ∂input, ∂weight). */
  sample(reps: number): void {
    const { k, M, K, N } = this, { a, w, c, dx, dw } = this.bufs;
    const calls = [
      () => k.matmul(c, a, w, null, M, K, N, false, false, false),
      () => k.matmul(dx, c, w, null, M, N, K, false, true, false),
      () => k.matmul(dw, a, c, null, K, M, N, true, false, true),
    ];
    calls.forEach((fn, i) => (this.best[i] = Math.min(this.best[i], bestSeconds(fn, reps))));
  }

  rate(): MatmulRate {
    const [tf, tx, tw] = this.best, f = 2 * this.M * this.K * this.N, g = (t: number) => +(f / t / 1e9).toFixed(1);
    return { shape: [this.M, this.K, this.N], fwd_gflops: g(tf), dx_gflops: g(tx), dw_gflops: g(tw), gflops: +((3 * f) / (tf + tx + tw) / 1e9).toFixed(1) };
  }
}

/** The rate from one sample of `reps` calls per orientation (`bench --what peak`). */
export function measureMatmulRate(k: Kernels, H: number, rows?: number, reps = 5): MatmulRate {
  const probe = new MatmulRateProbe(k, H, rows);
  probe.sample(reps);
  return probe.rate();
}

/** Seconds of the fastest of `reps` calls of `fn`, after one untimed warm-up call. */
function bestSeconds(fn: () => void, reps: number): number {
  fn();
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

// Allocated as the model's own arrays are (Kernels.alloc): on the native backend products over unaligned
// arrays run slower, and the rate is the limit the model's products are compared with.
function filled(k: Kernels, n: number): Float32Array {
  const x = allocatorOf(k).f32(n);
  for (let i = 0; i < n; i++) x[i] = ((Math.imul(i, 2654435761) >>> 0) % 1000) / 1000 - 0.5;
  return x;
}

/** Peak resident memory of this process so far, in MiB. */
export function peakRssMiB(): number {
  return +(process.resourceUsage().maxRSS / 1024).toFixed(1);
}

/**
 * Bytes of weights one decoding step reads per generated byte, for `streams` streams decoded together (they
 * share every read): each byte runs the byte decoder's matrices and its tied LM head (wte, fp32), each
 * S-th byte the patch decoder's. Matrices are 12H² per block, at `weightBytes` each (4 fp32, 2 bf16/f16).
 */
export function decodeWeightBytes(cfg: BgptConfig, weightBytes: number, streams = 1): number {
  const { hidden: H, patchSize: S, patchLayers, byteLayers } = cfg, block = 12 * H * H * weightBytes;
  return (byteLayers * block + VOCAB * H * 4 + (patchLayers * block) / S) / streams;
}

/**
 * The rate at which a one-row product streams weights from memory (GB/s): [1, K]·[K, N] with the weights
 * (fp32, or 16-bit when `dtype` is given) far larger than the caches, best of `reps` calls — the memory
 * bandwidth decoding one stream of a model too big for the caches can reach, measured in the same run.
 */
export function measureReadRate(k: Kernels, dtype?: HalfType, mib = 256, reps = 3): number {
  const K = 4096, bytes = dtype ? 2 : 4, N = Math.floor((mib * 2 ** 20) / bytes / K / 16) * 16;
  const alloc = allocatorOf(k), a = filled(k, K), c = alloc.f32(N);
  const w32 = dtype ? null : filled(k, K * N), w16 = dtype ? alloc.u16(K * N).fill(0x3c00) : null;
  const call = () => (w16 ? k.matmulW16(c, a, w16, null, 1, K, N, dtype!) : k.matmul(c, a, w32!, null, 1, K, N, false, false, false));
  return +((K * N * bytes) / bestSeconds(call, reps) / 1e9).toFixed(1);
}
