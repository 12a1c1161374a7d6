/**
 * The reference backend: every kernel of ../types.ts in plain TypeScript, written to be read and checked,
 * not to be fast. Tests compare the native backend against it, and it runs wherever the addon is not built.
 */
import type { HalfType, Kernels } from '../types.js';

const GELU_C = Math.sqrt(2 / Math.PI);

function matmul(
  C: Float32Array, A: Float32Array, B: Float32Array, bias: Float32Array | null,
  M: number, K: number, N: number, transA: boolean, transB: boolean, accumulate: boolean,
): void {
  // float64 accumulation keeps the reference itself out of the error budget
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    if (transB && !transA) {
      // C[i,j] = A[i,:]·B[j,:], both rows contiguous
      const a = i * K;
      for (let j = 0; j < N; j++) {
        let s = 0;
        const b = j * K;
        for (let k = 0; k < K; k++) s += A[a + k] * B[b + k];
        row[j] = s;
      }
    } else {
      row.fill(0);
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * M + i] : A[i * K + k];
        if (a === 0) continue;
        if (transB) for (let j = 0; j < N; j++) row[j] += a * B[j * K + k];
        else {
          const off = k * N;
          for (let j = 0; j < N; j++) row[j] += a * B[off + j];
        }
      }
    }
    const c = i * N;
    for (let j = 0; j < N; j++) {
      const v = row[j] + (bias ? bias[j] : 0);
      C[c + j] = accumulate ? C[c + j] + v : v;
    }
  }
}

function biasGrad(db: Float32Array, dY: Float32Array, M: number, N: number, accumulate: boolean): void {
  const s = new Float64Array(N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) s[j] += dY[i * N + j];
  for (let j = 0; j < N; j++) db[j] = accumulate ? db[j] + s[j] : s[j];
}

function layerNormForward(
  out: Float32Array, mean: Float32Array, rstd: Float32Array,
  x: Float32Array, w: Float32Array, b: Float32Array, rows: number, H: number, eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * H;
    let m = 0;
    for (let i = 0; i < H; i++) m += x[o + i];
    m /= H;
    let v = 0;
    for (let i = 0; i < H; i++) v += (x[o + i] - m) ** 2;
    v /= H; // biased variance, as torch
    const s = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < H; i++) out[o + i] = (x[o + i] - m) * s * w[i] + b[i];
    mean[r] = m;
    rstd[r] = s;
  }
}

function add(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

function addLayerNormForward(
  sum: Float32Array, out: Float32Array, mean: Float32Array, rstd: Float32Array,
  a: Float32Array, b: Float32Array, w: Float32Array, bias: Float32Array, rows: number, H: number, eps: number,
): void {
  add(sum, a, b, rows * H);
  layerNormForward(out, mean, rstd, sum, w, bias, rows, H, eps);
}

function layerNormBackward(
  dx: Float32Array, dw: Float32Array, db: Float32Array, dout: Float32Array,
  x: Float32Array, mean: Float32Array, rstd: Float32Array, w: Float32Array, rows: number, H: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * H, m = mean[r], s = rstd[r];
    // dx = s·(g − mean(g) − xhat·mean(g·xhat)) with g = dout·w
    let gMean = 0, gxMean = 0;
    for (let i = 0; i < H; i++) {
      const xhat = (x[o + i] - m) * s, g = dout[o + i] * w[i];
      gMean += g;
      gxMean += g * xhat;
    }
    gMean /= H;
    gxMean /= H;
    for (let i = 0; i < H; i++) {
      const xhat = (x[o + i] - m) * s, g = dout[o + i] * w[i];
      dx[o + i] += s * (g - gMean - xhat * gxMean);
      dw[i] += dout[o + i] * xhat;
      db[i] += dout[o + i];
    }
  }
}

function geluForward(out: Float32Array, x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
  }
}

function matmulBiasGelu(
  out: Float32Array, pre: Float32Array, A: Float32Array, B: Float32Array, bias: Float32Array, M: number, K: number, N: number,
): void {
  matmul(pre, A, B, bias, M, K, N, false, false, false);
  geluForward(out, pre, M * N);
}

function geluBackward(dx: Float32Array, x: Float32Array, dout: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const t = Math.tanh(GELU_C * (v + 0.044715 * v * v * v));
    const dt = (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * v * v);
    dx[i] = dout[i] * (0.5 * (1 + t) + 0.5 * v * dt);
  }
}

function geluBackwardBiasGrad(
  dx: Float32Array, db: Float32Array, x: Float32Array, dout: Float32Array, M: number, N: number, accumulate: boolean,
): void {
  geluBackward(dx, x, dout, M * N);
  biasGrad(db, dx, M, N, accumulate);
}

// ---- dropout (see the Conventions of ../types.ts) ------------------------------------------------------

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The uint32 hash r of element i under key = fmix32(seed >>> 0); kept when r >= threshold. */
function dropHash(key: number, i: number): number {
  return fmix32((fmix32((i ^ key) >>> 0) + key) >>> 0);
}

/** (key, threshold, scale) of a dropout call; throws on p outside [0, 1). */
function dropParams(what: string, p: number, seed: number): { key: number; threshold: number; scale: number } {
  if (!(p >= 0 && p < 1)) throw new RangeError(`${what}: dropout p must be in [0, 1), got ${p}`);
  return {
    key: fmix32(seed >>> 0),
    threshold: Math.min(0xffffffff, Math.floor(p * 4294967296)),
    scale: Math.fround(1 / (1 - p)),
  };
}

function dropout(x: Float32Array, n: number, p: number, seed: number): void {
  const { key, threshold, scale } = dropParams('dropout', p, seed);
  if (p === 0) return;
  // x·scale of two float32 values is exact in float64 and rounds once on the store into a Float32Array: the
  // float32 product. (A Float64Array, as the finite-difference tests pass, keeps the exact product.)
  for (let i = 0; i < n; i++) x[i] = dropHash(key, i) >= threshold ? x[i] * scale : 0;
}

function attentionForward(
  out: Float32Array, att: Float32Array, qkv: Float32Array, mask: Float32Array | null,
  B: number, T: number, H: number, nHead: number, maskValue: number, dropP = 0, seed = 0,
): void {
  if (!Number.isFinite(maskValue)) throw new RangeError(`attentionForward: maskValue must be finite, got ${maskValue}`);
  const d = H / nHead, scale = 1 / Math.sqrt(d), H3 = 3 * H;
  const drop = dropParams('attentionForward', dropP, seed);
  const p = new Float64Array(T);
  const m = new Float64Array(T).fill(1); // dropout multipliers of the row: scale or 0 (all 1 without dropout)
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nHead; h++) {
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * H3 + h * d;
        let max = -Infinity;
        for (let u = 0; u < T; u++) {
          let s = maskValue; // a future key's score is replaced, not added to
          if (u <= t) {
            const k = (b * T + u) * H3 + H + h * d;
            let dot = 0;
            for (let i = 0; i < d; i++) dot += qkv[q + i] * qkv[k + i];
            s = dot * scale;
          }
          if (mask) s += (1 - mask[b * T + u]) * maskValue;
          p[u] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let u = 0; u < T; u++) sum += (p[u] = Math.exp(p[u] - max));
        const a = ((b * nHead + h) * T + t) * T;
        for (let u = 0; u < T; u++) att[a + u] = p[u] / sum;
        if (dropP > 0) for (let u = 0; u < T; u++) m[u] = dropHash(drop.key, a + u) >= drop.threshold ? drop.scale : 0;
        const o = (b * T + t) * H + h * d;
        for (let i = 0; i < d; i++) {
          let acc = 0;
          for (let u = 0; u < T; u++) acc += att[a + u] * m[u] * qkv[(b * T + u) * H3 + 2 * H + h * d + i];
          out[o + i] = acc;
        }
      }
    }
  }
}

/** A 16-bit weight as float32: bf16 is the top half of an fp32; f16 is IEEE half precision. */
function widen16(h: number, dtype: HalfType): number {
  if (dtype === 'bf16') return new Float32Array(Uint32Array.of(h << 16).buffer)[0];
  const e = (h >> 10) & 0x1f, m = h & 0x3ff, sign = h & 0x8000 ? -1 : 1;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

function matmulW16(C: Float32Array, A: Float32Array, W: Uint16Array, bias: Float32Array | null, M: number, K: number, N: number, dtype: HalfType, bf16Activations = false): void {
  if (dtype !== 'bf16' && dtype !== 'f16') throw new TypeError(`matmulW16: dtype must be "bf16" or "f16", not "${dtype}"`);
  if (bf16Activations && dtype !== 'bf16') throw new TypeError(`matmulW16: bf16Activations needs bf16 weights, not ${dtype}`);
  const a = bf16Activations ? bf16Values(A, M * K) : A;
  matmul(C, a, Float32Array.from(W.subarray(0, K * N), (h) => widen16(h, dtype)), bias, M, K, N, false, false, false);
}

/** x rounded to bf16 (to nearest, ties to even), as the 16 bits; NaN stays a (quiet) NaN. */
function roundBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);

/** An operand of matmulBf16 as the fp32 values of its bf16 numbers. */
function bf16Values(x: Float32Array | Uint16Array, n: number): Float32Array {
  const bits = x instanceof Uint16Array ? x.subarray(0, n) : Uint16Array.from(x.subarray(0, n), roundBf16);
  return new Float32Array(Uint32Array.from(bits, (h) => h << 16).buffer);
}

function matmulBf16(
  C: Float32Array, A: Float32Array | Uint16Array, B: Float32Array | Uint16Array, bias: Float32Array | null,
  M: number, K: number, N: number, transA: boolean, transB: boolean, accumulate: boolean,
): void {
  matmul(C, bf16Values(A, M * K), bf16Values(B, K * N), bias, M, K, N, transA, transB, accumulate);
}

function attentionCached(
  out: Float32Array, qkv: Float32Array, keys: Float32Array, values: Float32Array, slots: Int32Array,
  past: Int32Array, B: number, T: number, H: number, nHead: number, capacity: number,
): void {
  const d = H / nHead, scale = 1 / Math.sqrt(d), H3 = 3 * H;
  for (let b = 0; b < B; b++) {
    const base = slots[b] * capacity * H, p0 = past[b];
    if (p0 + T > capacity) throw new RangeError(`attentionCached: ${p0} + ${T} positions exceed the cache's ${capacity}`);
    for (let t = 0; t < T; t++) {
      const r = (b * T + t) * H3, c = base + (p0 + t) * H;
      keys.set(qkv.subarray(r + H, r + 2 * H), c);
      values.set(qkv.subarray(r + 2 * H, r + 3 * H), c);
    }
    const p = new Float64Array(p0 + T);
    for (let t = 0; t < T; t++) {
      const n = p0 + t + 1; // keys visible to this position: none in the future, so no −10000 terms
      for (let h = 0; h < nHead; h++) {
        const q = (b * T + t) * H3 + h * d;
        let max = -Infinity;
        for (let u = 0; u < n; u++) {
          const k = base + u * H + h * d;
          let dot = 0;
          for (let i = 0; i < d; i++) dot += qkv[q + i] * keys[k + i];
          p[u] = dot * scale;
          if (p[u] > max) max = p[u];
        }
        let sum = 0;
        for (let u = 0; u < n; u++) sum += (p[u] = Math.exp(p[u] - max));
        const o = (b * T + t) * H + h * d;
        for (let i = 0; i < d; i++) {
          let acc = 0;
          for (let u = 0; u < n; u++) acc += (p[u] / sum) * values[base + u * H + h * d + i];
          out[o + i] = acc;
        }
      }
    }
  }
}

function attentionBackward(
  dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
  B: number, T: number, H: number, nHead: number, dropP = 0, seed = 0,
): void {
  const d = H / nHead, scale = 1 / Math.sqrt(d), H3 = 3 * H;
  const drop = dropParams('attentionBackward', dropP, seed);
  dqkv.fill(0, 0, B * T * H3);
  const datt = new Float64Array(T);
  const m = new Float64Array(T).fill(1);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nHead; h++) {
      for (let t = 0; t < T; t++) {
        const a = ((b * nHead + h) * T + t) * T;
        const o = (b * T + t) * H + h * d;
        if (dropP > 0) for (let u = 0; u < T; u++) m[u] = dropHash(drop.key, a + u) >= drop.threshold ? drop.scale : 0;
        // out = Σ_u att·m·v  →  datt[u] = (dout·v[u])·m[u];  dv[u] += att[u]·m[u]·dout
        let dot = 0;
        for (let u = 0; u < T; u++) {
          const v = (b * T + u) * H3 + 2 * H + h * d;
          const w = att[a + u] * m[u];
          let s = 0;
          for (let i = 0; i < d; i++) {
            s += dout[o + i] * qkv[v + i];
            dqkv[v + i] += w * dout[o + i];
          }
          datt[u] = s * m[u];
          dot += datt[u] * att[a + u];
        }
        // softmax backward (undropped att); replaced (future) scores carry no gradient to q or k
        const q = (b * T + t) * H3 + h * d;
        for (let u = 0; u <= t; u++) {
          const ds = att[a + u] * (datt[u] - dot) * scale;
          const k = (b * T + u) * H3 + H + h * d;
          for (let i = 0; i < d; i++) {
            dqkv[q + i] += ds * qkv[k + i];
            dqkv[k + i] += ds * qkv[q + i];
          }
        }
      }
    }
  }
}

function patchEmbedForward(
  out: Float32Array, W: Float32Array, bias: Float32Array, tokens: Int32Array, rows: number, S: number, H: number, V: number,
): void {
  const cols = S * V;
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < H; h++) {
      let acc = bias[h];
      for (let s = 0; s < S; s++) acc += W[h * cols + s * V + tokens[r * S + s]];
      out[r * H + h] = acc;
    }
  }
}

function patchEmbedBackward(
  dW: Float32Array, dbias: Float32Array, dout: Float32Array, tokens: Int32Array, rows: number, S: number, H: number, V: number,
): void {
  const cols = S * V;
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < H; h++) {
      const g = dout[r * H + h];
      dbias[h] += g;
      for (let s = 0; s < S; s++) dW[h * cols + s * V + tokens[r * S + s]] += g;
    }
  }
}

function embedForward(
  out: Float32Array, wte: Float32Array, wpe: Float32Array, tokens: Int32Array, rows: number, T: number, H: number,
): void {
  for (let r = 0; r < rows; r++) {
    const tok = tokens[r], p = (r % T) * H, o = r * H;
    for (let i = 0; i < H; i++) out[o + i] = (tok < 0 ? 0 : wte[tok * H + i]) + wpe[p + i];
  }
}

function embedBackward(
  dwte: Float32Array, dwpe: Float32Array, dout: Float32Array, tokens: Int32Array, rows: number, T: number, H: number,
): void {
  for (let r = 0; r < rows; r++) {
    const tok = tokens[r], p = (r % T) * H, o = r * H;
    for (let i = 0; i < H; i++) {
      if (tok >= 0) dwte[tok * H + i] += dout[o + i];
      dwpe[p + i] += dout[o + i];
    }
  }
}

function crossEntropy(
  dlogits: Float32Array | null, logits: Float32Array, targets: Int32Array, rows: number, Vn: number, scale: number,
): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * Vn, y = targets[r];
    if (y < 0) {
      if (dlogits) dlogits.fill(0, o, o + Vn);
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < Vn; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < Vn; j++) sum += Math.exp(logits[o + j] - max);
    total += Math.log(sum) + max - logits[o + y];
    if (dlogits) {
      for (let j = 0; j < Vn; j++) dlogits[o + j] = (Math.exp(logits[o + j] - max) / sum - (j === y ? 1 : 0)) * scale;
    }
  }
  return total;
}

function softmax(out: Float32Array, x: Float32Array, rows: number, Vn: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * Vn;
    let max = -Infinity;
    for (let j = 0; j < Vn; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < Vn; j++) sum += Math.exp(x[o + j] - max);
    for (let j = 0; j < Vn; j++) out[o + j] = Math.exp(x[o + j] - max) / sum;
  }
}

function adamw(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number,
  lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
): void {
  const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
  const stepSize = lr / bc1, bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < n; i++) {
    p[i] *= 1 - lr * weightDecay;
    m[i] = beta1 * m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}

export const tsKernels: Kernels = {
  name: 'ts',
  matmul,
  matmulW16,
  matmulBf16,
  toBf16(out, x, n) {
    for (let i = 0; i < n; i++) out[i] = roundBf16(x[i]);
  },
  biasGrad,
  addInPlace(y, x, n) {
    for (let i = 0; i < n; i++) y[i] += x[i];
  },
  layerNormForward,
  addLayerNormForward,
  layerNormBackward,
  geluForward,
  matmulBiasGelu,
  geluBackward,
  geluBackwardBiasGrad,
  dropout,
  attentionForward,
  attentionBackward,
  attentionCached,
  patchEmbedForward,
  patchEmbedBackward,
  embedForward,
  embedBackward,
  crossEntropy,
  softmax,
  adamw,
  threads: () => 1,
};
