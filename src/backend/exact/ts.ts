/**
 * The exact kernels in TypeScript. Every float operation is rounded to single precision with Math.fround (or
 * by storing into a Float32Array): the exact sum, product or quotient of two floats computed in double and
 * rounded to float is the correctly rounded float result (double has more than 2·24 + 2 bits), so this is
 * bit for bit the C++ of exact.cc compiled without contraction.
 */
import { FREQ_SPREAD, type ExactKernels } from './types.js';

const f = Math.fround;
const LOG2E = f(1.44269504088896341), LN2_HI = f(0.693359375), LN2_LO = f(-2.1219444e-4);
const P0 = f(1.98756915e-4), P1 = f(1.3981999507e-3), P2 = f(8.3334519073e-3), P3 = f(4.1665795894e-2), P4 = f(1.6666665459e-1), P5 = f(5.0000001201e-1);
const EXP_LO = f(-87.33654), EXP_HI = f(88);
const GELU_C = f(Math.sqrt(2 / Math.PI)), GELU_A = f(0.044715), LN_EPS = f(1e-5);

/** 2^n for integer n in [−126, 127], built from its bits (no library pow). */
const pow2Float = new Float32Array(1), pow2Bits = new Int32Array(pow2Float.buffer);
function pow2(n: number): number {
  pow2Bits[0] = (n + 127) << 23;
  return pow2Float[0];
}

/** exp(x) of a float, from + and × only (Cody–Waite reduction, degree-6 polynomial); 0 below ln(FLT_MIN). */
export function expExact(x: number): number {
  if (x !== x) return x; // NaN
  if (x < EXP_LO) return 0;
  if (x > EXP_HI) x = EXP_HI;
  const n = Math.floor(f(f(x * LOG2E) + 0.5));
  let r = f(x - f(n * LN2_HI));
  r = f(r - f(n * LN2_LO));
  const z = f(r * r);
  let p = P0;
  p = f(f(p * r) + P1);
  p = f(f(p * r) + P2);
  p = f(f(p * r) + P3);
  p = f(f(p * r) + P4);
  p = f(f(p * r) + P5);
  p = f(f(f(p * z) + r) + 1);
  return f(p * pow2(n));
}

/** tanh(u) = ±(1 − 2 / (exp(2|u|) + 1)), |u| clamped at 10 (where it is 1 in float). */
export function tanhExact(u: number): number {
  let a = u < 0 ? -u : u;
  if (a > 10) a = 10;
  const t = f(1 - f(2 / f(expExact(f(2 * a)) + 1)));
  return u < 0 ? -t : t;
}

export const tsExact: ExactKernels = {
  name: 'ts',

  linear(out, x, w, b, R, K, N, ldw = N) {
    for (let r = 0; r < R; r++) {
      const o = out.subarray(r * N, r * N + N);
      o.fill(0);
      for (let k = 0; k < K; k++) {
        const xv = x[r * K + k], wo = k * ldw;
        // o is a Float32Array: the double sum of two floats is rounded to float on store
        for (let n = 0; n < N; n++) o[n] += f(xv * w[wo + n]);
      }
      if (b) for (let n = 0; n < N; n++) o[n] += b[n];
    }
  },

  layerNorm(out, x, g, b, R, D) {
    for (let r = 0; r < R; r++) {
      const o = r * D;
      let s = 0;
      for (let i = 0; i < D; i++) s = f(s + x[o + i]);
      const mean = f(s / D);
      let v = 0;
      for (let i = 0; i < D; i++) {
        const d = f(x[o + i] - mean);
        v = f(v + f(d * d));
      }
      const rstd = f(1 / f(Math.sqrt(f(f(v / D) + LN_EPS))));
      for (let i = 0; i < D; i++) out[o + i] = f(f(f(f(x[o + i] - mean) * rstd) * g[i]) + b[i]);
    }
  },

  gelu(out, x, n) {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      const u = f(GELU_C * f(v + f(GELU_A * f(f(v * v) * v))));
      out[i] = f(f(0.5 * v) * f(1 + tanhExact(u)));
    }
  },

  attend(out, qkv, kv, kvStride, B, R, past, H, heads, seqStride = past + R, slots, pasts) {
    const dh = H / heads, scale = f(1 / f(Math.sqrt(dh))), T = seqStride;
    const sc = new Float32Array(seqStride);
    for (let b = 0; b < B; b++) {
      const slot = slots ? slots[b] : b, pb = pasts ? pasts[b] : past;
      for (let r = 0; r < R; r++) {
        const q0 = (b * R + r) * 3 * H, o0 = (b * R + r) * H, n = pb + r + 1;
        for (let h = 0; h < heads; h++) {
          const qh = q0 + h * dh;
          let mx = 0;
          for (let t = 0; t < n; t++) {
            const k0 = (slot * T + t) * kvStride + h * dh;
            let s = 0;
            for (let d = 0; d < dh; d++) s = f(s + f(qkv[qh + d] * kv[k0 + d]));
            s = f(s * scale);
            sc[t] = s;
            if (t === 0 || s > mx) mx = s;
          }
          let sum = 0;
          for (let t = 0; t < n; t++) {
            const e = expExact(f(sc[t] - mx));
            sc[t] = e;
            sum = f(sum + e);
          }
          const oh = out.subarray(o0 + h * dh, o0 + h * dh + dh);
          oh.fill(0);
          for (let t = 0; t < n; t++) {
            const p = f(sc[t] / sum), v0 = (slot * T + t) * kvStride + H + h * dh;
            for (let d = 0; d < dh; d++) oh[d] += f(p * kv[v0 + d]);
          }
        }
      }
    }
  },

  patchEmbed(out, wT, bias, tokens, R, S, H, V) {
    for (let r = 0; r < R; r++) {
      const o = out.subarray(r * H, r * H + H);
      o.fill(0);
      for (let s = 0; s < S; s++) {
        const w0 = (s * V + tokens[r * S + s]) * H;
        for (let h = 0; h < H; h++) o[h] += wT[w0 + h];
      }
      for (let h = 0; h < H; h++) o[h] += bias[h];
    }
  },

  freqs(out, logits, R) {
    const e = new Float32Array(256);
    for (let r = 0; r < R; r++) {
      const l = r * 256;
      let mx = logits[l];
      for (let i = 1; i < 256; i++) if (logits[l + i] > mx) mx = logits[l + i];
      let sum = 0;
      for (let i = 0; i < 256; i++) sum = f(sum + (e[i] = expExact(f(logits[l + i] - mx))));
      const c = f(FREQ_SPREAD / sum);
      for (let i = 0; i < 256; i++) {
        const q = Math.floor(f(e[i] * c));
        // NaN (a broken model) or rounding past the spread: clamp, the coder only needs every frequency ≥ 1
        out[l + i] = 1 + (q >= 0 ? (q <= FREQ_SPREAD ? q : FREQ_SPREAD) : 0);
      }
    }
  },
};
