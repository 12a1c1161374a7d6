/**
 * The native backend against the TypeScript reference, kernel by kernel, on random data: odd shapes
 * (non-multiples of 16, one row), aliasing, accumulate on/off, masks, transposes, subarray views.
 * Skipped (with the reason) when the addon is not built.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tsKernels as ref } from '../src/backend/ts/kernels.js';
import { loadNative } from '../src/backend/native/index.js';
import type { Kernels } from '../src/backend/types.js';
import { floatToBf16, floatToHalf, halfToFloat } from '../src/io/dtypes.js';
import { VOCAB } from '../src/model/config.js';
import { MASK_VALUE } from '../src/nn/attention.js';
import { BgptModel } from '../src/model/bgpt.js';
import { DEFAULT_MODEL } from '../src/io/default-model.js';
import { loadModelFile } from '../src/io/weights.js';
import { Rng } from '../src/util/rng.js';

const loaded = loadNative();
const skip: string | false = 'error' in loaded ? `native backend unavailable: ${loaded.error}` : false;
// Only dereferenced inside tests, which are skipped when the addon is missing.
const nat = ('error' in loaded ? undefined : loaded.kernels) as Kernels;

// ---- data ----------------------------------------------------------------------------------------------
let seed = 12345;
function rnd(): number {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function randn(n: number, scale = 1, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * (2 * rnd() - 1);
  return a;
}
function randInt(n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(rnd() * (hi - lo));
  return a;
}
const nans = (n: number): Float32Array => new Float32Array(n).fill(NaN);
/** Runs fn on its own random stream and restores the shared one, so the data of the other tests stays the same. */
function ownStream(s: number, fn: () => void): void {
  const saved = seed;
  seed = s;
  try {
    fn();
  } finally {
    seed = saved;
  }
}

// ---- comparisons ---------------------------------------------------------------------------------------
/** |a − b|∞ / max(|b|∞, 1e-6): for results whose entries can be tiny next to the largest. */
function normRel(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= d)) d = Number.isNaN(e) ? Infinity : e;
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / Math.max(m, 1e-6);
}
/** max_i |a − b| / max(|b_i|, floor): elementwise relative error, with a floor for entries near zero. */
function elemRel(a: Float32Array, b: Float32Array, floor: number): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}
const showErrors = process.env.BGPT_TEST_VERBOSE === '1';
function within(err: number, tol: number, what: string): void {
  if (showErrors) console.log(`${(err / tol).toFixed(3)} of tolerance  ${err.toExponential(2)}  ${what}`);
  assert.ok(err <= tol, `${what}: error ${err.toExponential(3)} > ${tol}`);
}
const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

// ---- tests ---------------------------------------------------------------------------------------------
describe('native kernels vs TypeScript reference', { skip }, () => {
  test('info, threads, setThreads', () => {
    if ('error' in loaded) return;
    assert.match(loaded.info.onednn, /^\d+\.\d+\.\d+$/);
    assert.ok(loaded.info.threads >= 1);
    assert.ok(Array.isArray(loaded.info.cpu));
    const n = nat.threads();
    assert.equal(loaded.setThreads(1), 1);
    assert.equal(nat.threads(), 1);
    assert.equal(loaded.setThreads(n), n);
  });

  test('matmul: shapes × transposes × bias × accumulate', () => {
    const shapes: [number, number, number][] = [
      [1, 1, 1], [1, 7, 5], [3, 1, 4], [17, 64, 33], [33, 17, 1], [5, 0, 4], [64, 256, 96], [100, 37, 257],
      [170, 256, 768], [40, 1024, 24],
      [200, 300, 40], // Aᵀ·B with M ≥ 2N over a short sum: the direct product
      // Aᵀ·B over K ≥ 8·max(M, N) rows, on more than one thread: K split between the threads, as is and (M ≥ 2N)
      // taken as (Bᵀ·A)ᵀ, edges off the 16-blocks of the transposed add
      [33, 5001, 40], [90, 6003, 20],
      // A·Bᵀ over M ≥ 8·K rows with K > N, or over 128-2047 rows, on more than one thread: the rows split
      // between the threads (odd counts)
      [4001, 40, 36], [301, 130, 77],
    ];
    for (const [M, K, N] of shapes) {
      for (const transA of [false, true]) for (const transB of [false, true]) {
        const A = randn(M * K), B = randn(K * N), bias = randn(N);
        for (const withBias of [false, true]) for (const accumulate of [false, true]) {
          const C0 = accumulate ? randn(M * N) : nans(M * N);
          const want = C0.slice(), got = C0.slice();
          const bb = withBias ? bias : null;
          ref.matmul(want, A, B, bb, M, K, N, transA, transB, accumulate);
          nat.matmul(got, A, B, bb, M, K, N, transA, transB, accumulate);
          within(normRel(got, want), 2e-5, `matmul ${M}x${K}x${N} tA=${transA} tB=${transB} bias=${withBias} acc=${accumulate}`);
        }
      }
    }
  });

  test('matmul on subarray views writes only its window', () => {
    const M = 19, K = 23, N = 29;
    const bufA = randn(M * K + 7), bufB = randn(K * N + 3), bufC = randn(M * N + 11);
    const A = bufA.subarray(7), B = bufB.subarray(3, 3 + K * N), C = bufC.subarray(5, 5 + M * N);
    const before = bufC.slice();
    const want = C.slice();
    ref.matmul(want, A, B, null, M, K, N, false, false, true);
    nat.matmul(C, A, B, null, M, K, N, false, false, true);
    within(normRel(C, want), 2e-5, 'matmul view');
    for (let i = 0; i < 5; i++) assert.equal(bufC[i], before[i]);
    for (let i = 5 + M * N; i < bufC.length; i++) assert.equal(bufC[i], before[i]);
  });

  test('products of a few rows (decoding): matmul, matmulBiasGelu and matmulW16 at one, two and three threads', () => ownStream(808, () => {
    if ('error' in loaded) return;
    const widen = (h: Uint16Array, f16: boolean) =>
      f16 ? Float32Array.from(h, halfToFloat) : new Float32Array(Uint32Array.from(h, (v) => v << 16).buffer);
    // every row count up to the batched path's and past it, odd widths (vector tails), K not a multiple of 4,
    // and weights big enough to be split across threads (and to be streamed); one row into at most 256 columns
    // over K ≥ 64 (k in halves, strips of 16, 8, 4 and 1 vectors and a scalar tail), and below 64
    const shapes: [number, number, number][] = [
      [1, 70, 600], [2, 33, 37], [3, 70, 600], [4, 7, 300], [5, 70, 600], [6, 1, 17], [7, 70, 129], [8, 70, 600],
      [9, 70, 33], [16, 40, 100], [1, 1027, 1270], [5, 1027, 1270], [1, 256, 257], [3, 768, 257],
      [1, 1024, 256], [1, 301, 203], [1, 70, 48], [1, 40, 256],
    ];
    const n = nat.threads();
    try {
      for (const [M, K, N] of shapes) {
        // the columns split between threads, each summed over k in order (or over halves of k fixed by the shape):
        // every thread count gives the same bits
        const oneThread = new Map<string, Float32Array>();
        const same = (key: string, got: Float32Array) => {
          const first = oneThread.get(key);
          if (!first) oneThread.set(key, got.slice());
          else assert.deepEqual(got, first, `${key} ${M}x${K}x${N}: another thread count changed the result`);
        };
        const A = randn(M * K), B = randn(K * N, 0.2), bias = randn(N), C0 = randn(M * N);
        const BT = new Float32Array(N * K);
        for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) BT[j * K + k] = B[k * N + j];
        // the references once per shape: the product, then its bias, accumulate and gelu variants
        const P = new Float32Array(M * N);
        ref.matmul(P, A, B, null, M, K, N, false, false, false);
        const W16 = [false, true].map((f16) => {
          const W = Uint16Array.from(B, (v) => (f16 ? floatToHalf(v) : floatToBf16(v)));
          const want = new Float32Array(M * N);
          ref.matmul(want, A, widen(W, f16), bias, M, K, N, false, false, false);
          return { f16, W, want };
        });
        for (const threads of [1, 2, 3]) {
          loaded.setThreads(threads);
          const what = `${M}x${K}x${N} threads=${threads}`;
          for (const [withBias, accumulate] of [[false, false], [true, false], [true, true], [false, true]]) {
            const want = P.map((p, i) => p + (withBias ? bias[i % N] : 0) + (accumulate ? C0[i] : 0));
            const got = accumulate ? C0.slice() : nans(M * N);
            nat.matmul(got, A, B, withBias ? bias : null, M, K, N, false, false, accumulate);
            within(normRel(got, want), 1e-5, `matmul ${what} bias=${withBias} acc=${accumulate}`);
            same(`matmul bias=${withBias} acc=${accumulate}`, got);
            // B stored transposed ([N, K], the tied LM head's wte)
            const gotT = accumulate ? C0.slice() : nans(M * N);
            nat.matmul(gotT, A, BT, withBias ? bias : null, M, K, N, false, true, accumulate);
            within(normRel(gotT, want), 1e-5, `matmul ·ᵀ ${what} bias=${withBias} acc=${accumulate}`);
            same(`matmul ·ᵀ bias=${withBias} acc=${accumulate}`, gotT);
          }
          const pre = P.map((p, i) => p + bias[i % N]), out = new Float32Array(M * N);
          ref.geluForward(out, pre, M * N);
          const gotPre = nans(M * N), gotOut = nans(M * N);
          nat.matmulBiasGelu(gotOut, gotPre, A, B, bias, M, K, N);
          within(normRel(gotPre, pre), 1e-5, `matmulBiasGelu pre ${what}`);
          within(normRel(gotOut, out), 1e-5, `matmulBiasGelu out ${what}`);
          same('matmulBiasGelu', gotOut);
          for (const { f16, W, want } of W16) {
            const got = nans(M * N);
            nat.matmulW16(got, A, W, bias, M, K, N, f16 ? 'f16' : 'bf16');
            within(normRel(got, want), 1e-5, `matmulW16 ${f16 ? 'f16' : 'bf16'} ${what}`);
            same(`matmulW16 ${f16 ? 'f16' : 'bf16'}`, got);
          }
        }
      }
    } finally {
      loaded.setThreads(n);
    }
  }));

  test('matmulW16 with bf16 activations (bf16 dot products): the reference\'s rounding, the same bits at every thread count', () => ownStream(809, () => {
    if ('error' in loaded) return;
    // odd K (a last pair with one row), column tails of every width, row tiles of 1..8 and past them, the
    // many-row path (17 rows: rounded, then the widening product), bias or none
    const shapes: [number, number, number][] = [
      [1, 256, 768], [2, 33, 37], [3, 7, 5], [5, 1027, 1270], [7, 70, 129], [8, 256, 1024], [9, 70, 33], [16, 255, 33], [17, 64, 48], [1, 1, 1],
    ];
    const n = nat.threads();
    try {
      for (const [M, K, N] of shapes) {
        const A = randn(M * K), W = Uint16Array.from(randn(K * N, 0.2), floatToBf16), bias = M % 2 ? randn(N) : null;
        const want = new Float32Array(M * N), unrounded = new Float32Array(M * N);
        ref.matmulW16(want, A, W, bias, M, K, N, 'bf16', true);
        ref.matmulW16(unrounded, A, W, bias, M, K, N, 'bf16');
        // the rounding is there, and far larger than the tolerance below
        if (K > 1) assert.ok(normRel(unrounded, want) > 1e-4, `${M}x${K}x${N}: the activations were not rounded`);
        let first: Float32Array | null = null;
        for (const threads of [1, 2, 3]) {
          loaded.setThreads(threads);
          const got = nans(M * N);
          nat.matmulW16(got, A, W, bias, M, K, N, 'bf16', true);
          within(normRel(got, want), 1e-5, `matmulW16 bf16 activations ${M}x${K}x${N} threads=${threads}`);
          if (first) assert.deepEqual(got, first, `${M}x${K}x${N}: another thread count changed the result`);
          first = got;
        }
      }
    } finally {
      loaded.setThreads(n);
    }
    const C = new Float32Array(4), A = new Float32Array(4), W = new Uint16Array(4);
    assert.throws(() => nat.matmulW16(C, A, W, null, 2, 2, 2, 'f16', true), /bf16Activations needs bf16 weights/);
    assert.throws(() => ref.matmulW16(C, A, W, null, 2, 2, 2, 'f16', true), /bf16Activations needs bf16 weights/);
  }));

  test('biasGrad', () => {
    for (const [M, N] of [[1, 1], [1, 33], [17, 5], [1000, 257], [3000, 64]] as const) {
      const dY = randn(M * N);
      for (const accumulate of [false, true]) {
        const d0 = accumulate ? randn(N) : nans(N);
        const want = d0.slice(), got = d0.slice();
        ref.biasGrad(want, dY, M, N, accumulate);
        nat.biasGrad(got, dY, M, N, accumulate);
        within(elemRel(got, want, 1e-3 * Math.sqrt(M)), 1e-5, `biasGrad ${M}x${N} acc=${accumulate}`);
      }
    }
  });

  test('addInPlace, with aliasing', () => {
    for (const n of [1, 15, 100003, 300001]) {
      const a = randn(n), b = randn(n), want = a.map((x, i) => x + b[i]);
      const y = a.slice();
      nat.addInPlace(y, b, n);
      assert.deepEqual(y, want);
      const z = a.slice();
      nat.addInPlace(z, z, n); // y += y
      for (let i = 0; i < n; i++) assert.equal(z[i], Math.fround(2 * a[i]));
      // n smaller than the arrays: the tail stays untouched
      const t = a.slice();
      nat.addInPlace(t, b, n - 1);
      assert.equal(t[n - 1], a[n - 1]);
    }
  });

  test('layerNorm forward and backward', () => {
    for (const [rows, H] of [[1, 1], [1, 64], [7, 17], [300, 256], [33, 768]] as const) {
      const x = randn(rows * H, 2, 3), w = randn(H, 1, 1), b = randn(H, 0.5);
      const out = [new Float32Array(rows * H), nans(rows * H)];
      const mean = [new Float32Array(rows), nans(rows)], rstd = [new Float32Array(rows), nans(rows)];
      ref.layerNormForward(out[0], mean[0], rstd[0], x, w, b, rows, H, 1e-5);
      nat.layerNormForward(out[1], mean[1], rstd[1], x, w, b, rows, H, 1e-5);
      within(elemRel(out[1], out[0], 1e-2), 1e-5, `layerNorm out ${rows}x${H}`);
      within(elemRel(mean[1], mean[0], 1e-3), 1e-6, `layerNorm mean ${rows}x${H}`);
      within(elemRel(rstd[1], rstd[0], 1e-3), 1e-5, `layerNorm rstd ${rows}x${H}`);

      const dout = randn(rows * H), dx0 = randn(rows * H), dw0 = randn(H), db0 = randn(H);
      const g = [dx0.slice(), dw0.slice(), db0.slice()], n = [dx0.slice(), dw0.slice(), db0.slice()];
      ref.layerNormBackward(g[0], g[1], g[2], dout, x, mean[0], rstd[0], w, rows, H);
      nat.layerNormBackward(n[0], n[1], n[2], dout, x, mean[0], rstd[0], w, rows, H);
      if (H === 1) {
        // one feature: x̂ = 0 and the dx term is 0 in exact arithmetic; what either backend adds is rounding of
        // w·dout − mean(w·dout), scaled by rstd = 1/√eps ≈ 316: measured against that scale
        const scale = rstd[0][0] * Math.abs(w[0] * dout[0]);
        within(Math.abs(n[0][0] - g[0][0]) / scale, 1e-5, `layerNorm dx ${rows}x${H}`);
      } else within(normRel(n[0], g[0]), 1e-5, `layerNorm dx ${rows}x${H}`);
      within(normRel(n[1], g[1]), 1e-5, `layerNorm dw ${rows}x${H}`);
      within(normRel(n[2], g[2]), 1e-5, `layerNorm db ${rows}x${H}`);
    }
  });

  test('addLayerNormForward: the residual add and the LayerNorm in one pass, as add then layerNormForward (sum aliasing a, b or neither)', () => ownStream(405, () => {
    for (const [rows, H] of [[1, 1], [1, 64], [7, 17], [300, 256], [33, 768]] as const) {
      for (const alias of ['none', 'a', 'b'] as const) {
        const a = randn(rows * H, 2, 3), y = randn(rows * H, 1), w = randn(H, 1, 1), b = randn(H, 0.5);
        const sum = new Float32Array(rows * H), out = [new Float32Array(rows * H), nans(rows * H)];
        const mean = [new Float32Array(rows), nans(rows)], rstd = [new Float32Array(rows), nans(rows)];
        for (let i = 0; i < rows * H; i++) sum[i] = a[i] + y[i];
        ref.layerNormForward(out[0], mean[0], rstd[0], sum, w, b, rows, H, 1e-5);
        const a1 = a.slice(), y1 = y.slice(), s1 = alias === 'a' ? a1 : alias === 'b' ? y1 : nans(rows * H);
        nat.addLayerNormForward(s1, out[1], mean[1], rstd[1], a1, y1, w, b, rows, H, 1e-5);
        assert.deepEqual(s1, sum, `sum ${rows}x${H} alias ${alias}`);
        within(elemRel(out[1], out[0], 1e-2), 1e-5, `out ${rows}x${H} alias ${alias}`);
        within(elemRel(mean[1], mean[0], 1e-3), 1e-6, `mean ${rows}x${H} alias ${alias}`);
        within(elemRel(rstd[1], rstd[0], 1e-3), 1e-5, `rstd ${rows}x${H} alias ${alias}`);
      }
    }
  }));

  test('matmulBiasGelu: the product with its bias and the gelu of it, as matmul then geluForward', () => ownStream(404, () => {
    // one block of 64 rows, several blocks with a short last one, K = 0, the MLP's shape
    for (const [M, K, N] of [[1, 3, 16], [70, 33, 20], [200, 64, 256], [5, 0, 7], [300, 256, 1024]]) {
      const A = randn(M * K), B = randn(K * N, 0.2), bias = randn(N);
      const pre = [new Float32Array(M * N), nans(M * N)], out = [new Float32Array(M * N), nans(M * N)];
      ref.matmulBiasGelu(out[0], pre[0], A, B, bias, M, K, N);
      nat.matmulBiasGelu(out[1], pre[1], A, B, bias, M, K, N);
      within(normRel(pre[1], pre[0]), 2e-6, `matmulBiasGelu pre M=${M} K=${K} N=${N}`);
      within(normRel(out[1], out[0]), 2e-6, `matmulBiasGelu out M=${M} K=${K} N=${N}`);
      // the native unfused pair gives the same numbers to float rounding
      const p2 = new Float32Array(M * N), o2 = new Float32Array(M * N);
      nat.matmul(p2, A, B, bias, M, K, N, false, false, false);
      nat.geluForward(o2, p2, M * N);
      within(normRel(pre[1], p2), 1e-6, `matmulBiasGelu vs matmul M=${M} K=${K} N=${N}`);
      within(normRel(out[1], o2), 1e-6, `matmulBiasGelu vs geluForward M=${M} K=${K} N=${N}`);
    }
    assert.throws(() => nat.matmulBiasGelu(new Float32Array(4), new Float32Array(4), new Float32Array(4), new Float32Array(4), new Float32Array(1), 2, 2, 2), /bias/);
  }));

  test('gelu forward and backward (dx aliasing dout)', () => {
    for (const n of [1, 33, 70001]) {
      const x = randn(n, 8);
      const special = [0, 1e-3, -1e-3, -5, -12, -20, 12, 20, -0.5];
      for (let i = 0; i < Math.min(n, special.length); i++) x[i] = special[i];
      const want = new Float32Array(n), got = nans(n);
      ref.geluForward(want, x, n);
      nat.geluForward(got, x, n);
      within(elemRel(got, want, 1e-6), 1e-5, `gelu forward n=${n}`);

      const dout = randn(n);
      const dw = nans(n), dg = nans(n);
      ref.geluBackward(dw, x, dout, n);
      nat.geluBackward(dg, x, dout, n);
      // gelu' crosses zero near x = −0.75 (s + x·s(1−s)·… cancels): there only float's absolute precision holds
      within(elemRel(dg, dw, 1e-2), 1e-5, `gelu backward n=${n}`);
      const alias = dout.slice();
      nat.geluBackward(alias, x, alias, n);
      assert.deepEqual(alias, dg);
    }
  });

  test('geluBackwardBiasGrad: gelu backward and the bias gradient in one pass (dx aliasing dout)', () => ownStream(104, () => {
    for (const [M, N] of [[1, 1], [17, 33], [150, 1024]] as const) { // 150 x 1024: the parallel region
      const x = randn(M * N, 8), dout = randn(M * N);
      for (const accumulate of [false, true]) {
        const db0 = accumulate ? randn(N) : nans(N);
        const want = { dx: new Float32Array(M * N), db: db0.slice() };
        ref.geluBackward(want.dx, x, dout, M * N);
        ref.biasGrad(want.db, want.dx, M, N, accumulate);
        const what = `geluBackwardBiasGrad ${M}x${N} acc=${accumulate}`;
        for (const alias of [false, true]) {
          const dx = alias ? dout.slice() : nans(M * N), db = db0.slice();
          nat.geluBackwardBiasGrad(dx, db, x, alias ? dx : dout, M, N, accumulate);
          within(elemRel(dx, want.dx, 1e-2), 1e-5, `${what} dx alias=${alias}`);
          // db: the column sums of this dx (in double, as biasGrad), whatever float rounding dx itself had
          const sums = db0.slice();
          ref.biasGrad(sums, dx, M, N, accumulate);
          within(elemRel(db, sums, 1e-3), 1e-6, `${what} db alias=${alias}`);
        }
        const ts = { dx: nans(M * N), db: db0.slice() };
        ref.geluBackwardBiasGrad(ts.dx, ts.db, x, dout, M, N, accumulate);
        assert.deepEqual(ts, want, `${what}: ts is geluBackward then biasGrad`);
      }
    }
    assert.throws(() => nat.geluBackwardBiasGrad(new Float32Array(6), new Float32Array(2), new Float32Array(6), new Float32Array(6), 3, 3, false), /dx has 6 elements/);
  }));

  /** Native vs ts attention, forward and backward, on every shape with no mask, padding and random holes. */
  function attentionCases(shapes: [number, number, number, number][]): void {
    for (const [B, T, H, nHead] of shapes) {
      const qkv = randn(B * T * 3 * H, 1.5);
      const padded = new Float32Array(B * T).fill(1);
      for (let b = 0; b < B; b++) {
        const valid = b === B - 1 && B > 1 ? 0 : Math.max(1, T - b * 3); // last sequence: fully padded
        for (let t = valid; t < T; t++) padded[b * T + t] = 0;
      }
      const holes = new Float32Array(B * T);
      for (let i = 0; i < B * T; i++) holes[i] = rnd() < 0.3 ? 0 : 1;
      for (const [label, mask] of [['null', null], ['padded', padded], ['holes', holes]] as const) {
        const what = `attention B=${B} T=${T} H=${H} nHead=${nHead} mask=${label}`;
        const out = [new Float32Array(B * T * H), nans(B * T * H)];
        const att = [new Float32Array(B * nHead * T * T), nans(B * nHead * T * T)];
        ref.attentionForward(out[0], att[0], qkv, mask, B, T, H, nHead, MASK_VALUE);
        nat.attentionForward(out[1], att[1], qkv, mask, B, T, H, nHead, MASK_VALUE);
        within(normRel(out[1], out[0]), 2e-5, `${what} out`);
        within(normRel(att[1], att[0]), 2e-6, `${what} att`);

        const dout = randn(B * T * H);
        const dq = [nans(B * T * 3 * H), nans(B * T * 3 * H)];
        ref.attentionBackward(dq[0], dout, qkv, att[0], B, T, H, nHead);
        nat.attentionBackward(dq[1], dout, qkv, att[0], B, T, H, nHead);
        within(normRel(dq[1], dq[0]), 2e-5, `${what} dqkv`);
      }
    }
  }

  test('attention forward and backward: masks, shapes', () => {
    attentionCases([
      // few sequences: one (sequence, head) per task; many (B ≥ 4·threads): whole sequences per task.
      // Head dims that are multiples of 16 are read in place, others (20, 5, 40) through padded panels.
      [1, 1, 64, 1], [2, 5, 32, 2], [3, 17, 256, 4], [2, 33, 48, 3], [1, 64, 128, 2], [2, 100, 64, 1],
      [2, 9, 20, 4], [9, 17, 128, 2], [12, 6, 40, 2], [40, 17, 256, 4],
      // many short sequences without a mask (the byte decoder's case): head dims that are not multiples of 16
      // or 4, T 1 and 32, odd T
      [33, 17, 48, 3], [8, 1, 24, 2], [16, 32, 64, 1], [20, 31, 36, 2], [17, 3, 10, 1],
      // T ≤ 16 (a score row in one vector): exactly 16 (the byte decoder at patch size 16), and fewer
      [40, 16, 256, 4], [6, 16, 64, 2], [9, 12, 32, 2],
    ]);
  });

  // a query whose every score is −10000 or below ties with the future keys' fill, with no mask: GPT-2 then
  // spreads its weight over all T keys, and the backward must follow it there
  test('attention: a query whose scores do not stand out from the fill, without a mask', () => ownStream(304, () => {
    const B = 20, T = 5, H = 32, nHead = 2, d = H / nHead;
    const qkv = randn(B * T * 3 * H);
    for (const [b, t, h] of [[3, 0, 0], [18, 2, 1]]) {
      for (let i = 0; i < d; i++) qkv[(b * T + t) * 3 * H + h * d + i] = 50; // q
      for (let u = 0; u <= t; u++) for (let i = 0; i < d; i++) qkv[(b * T + u) * 3 * H + H + h * d + i] = -50; // k
    }
    const out = [new Float32Array(B * T * H), nans(B * T * H)];
    const att = [new Float32Array(B * nHead * T * T), nans(B * nHead * T * T)];
    ref.attentionForward(out[0], att[0], qkv, null, B, T, H, nHead, MASK_VALUE);
    nat.attentionForward(out[1], att[1], qkv, null, B, T, H, nHead, MASK_VALUE);
    assert.ok(att[0][((3 * nHead + 0) * T + 0) * T + 4] > 0.1, 'the case puts weight on a future key');
    within(normRel(out[1], out[0]), 2e-5, 'out');
    within(normRel(att[1], att[0]), 2e-6, 'att');
    const dout = randn(B * T * H), dq = [nans(B * T * 3 * H), nans(B * T * 3 * H)];
    ref.attentionBackward(dq[0], dout, qkv, att[0], B, T, H, nHead);
    nat.attentionBackward(dq[1], dout, qkv, att[0], B, T, H, nHead);
    within(normRel(dq[1], dq[0]), 2e-5, 'dqkv');
  }));

  // T not a multiple of the 4-query blocks or of the 16-key vectors, in the patch decoder's range
  test('attention forward and backward at T 257 and 300', () => ownStream(303, () => attentionCases([[2, 257, 40, 1], [1, 300, 128, 2]])));

  test('dropout: the same mask bit for bit, the same values', () => ownStream(101, () => {
    const seeds = [0, 1, 12345, 0x9e3779b9, 0xffffffff];
    for (const n of [0, 1, 17, 1000, 70001, 300001]) { // 300001: the parallel loop
      const x = randn(n, 3);
      for (const p of [0, 0.1, 0.5, 0.999, 3.5 / 2 ** 32]) for (const s of seeds) {
        const want = x.slice(), got = x.slice();
        ref.dropout(want, n, p, s);
        nat.dropout(got, n, p, s);
        const what = `dropout n=${n} p=${p} seed=${s}`;
        let zeros = 0, diff = 0;
        for (let i = 0; i < n; i++) {
          if ((got[i] === 0) !== (want[i] === 0)) diff++;
          if (want[i] === 0) zeros++;
        }
        assert.equal(diff, 0, `${what}: ${diff} entries dropped by one backend only`);
        within(elemRel(got, want, 1e-30), 1e-6, `${what} values`);
        assert.deepEqual(got, want, `${what}: not bit-identical`); // same float32 scale, same float32 product
        if (p === 0) assert.deepEqual(got, x, `${what}: p = 0 must change nothing`);
        if (p === 0.5 && n >= 1000) assert.ok(Math.abs(zeros / n - 0.5) < 0.05, `${what}: ${zeros} dropped`);
      }
    }
    // the boundary r == threshold (kept) and r == threshold − 1 (dropped): p = r/2³² makes threshold = r for an
    // element whose hash r is known (computed independently; see also test/gradcheck.test.ts)
    for (const [s, i, r] of [[0, 1, 804215951], [12345, 7, 2512245540], [4294967295, 99999, 1331772963], [7, 131073, 1391428815]]) {
      for (const p of [r / 2 ** 32, (r + 1) / 2 ** 32]) {
        const x = new Float32Array(i + 1).fill(1);
        nat.dropout(x, i + 1, p, s);
        assert.equal(x[i] !== 0, p === r / 2 ** 32, `seed ${s} i ${i} p ${p}`);
      }
      // and in attention: element i of att is row i / T, key i % T (T = 1 here: B·nHead·T·T = i + 1 rows)
      const n = i + 1, att = new Float32Array(n), out = new Float32Array(n * 8);
      const qkv = randn(n * 24);
      nat.attentionForward(out, att, qkv, null, n, 1, 8, 1, MASK_VALUE, r / 2 ** 32, s);
      assert.notEqual(out[i * 8], 0, `attention seed ${s} i ${i}: kept`);
      nat.attentionForward(out, att, qkv, null, n, 1, 8, 1, MASK_VALUE, (r + 1) / 2 ** 32, s);
      assert.equal(out[i * 8], 0, `attention seed ${s} i ${i}: dropped`);
    }
    // the seed is taken as uint32, as JS's seed >>> 0 (−1 ≡ 2³²−1, 2³² ≡ 0, 7.9 ≡ 7)
    const n = 5000, x = randn(n);
    for (const [a, b] of [[-1, 0xffffffff], [2 ** 32, 0], [7.9, 7], [-(2 ** 31), 2 ** 31]] as const) {
      const u = x.slice(), v = x.slice(), w = x.slice();
      nat.dropout(u, n, 0.3, a);
      nat.dropout(v, n, 0.3, b);
      ref.dropout(w, n, 0.3, a);
      assert.deepEqual(u, v, `seed ${a} vs ${b}`);
      assert.deepEqual(u, w, `seed ${a}: native vs ts`);
    }
    // n below the length: the tail stays; a subarray view: only its window, indexed from the view's start
    const buf = randn(1000), before = buf.slice();
    const view = buf.subarray(100, 900);
    const want = before.slice(100, 900);
    ref.dropout(want, 700, 0.4, 9);
    nat.dropout(view, 700, 0.4, 9);
    assert.deepEqual(buf.subarray(0, 100), before.subarray(0, 100));
    assert.deepEqual(buf.subarray(800), before.subarray(800));
    assert.deepEqual(view.subarray(0, 700), want.subarray(0, 700));
    // p outside [0, 1) is refused by both
    for (const p of [1, -0.1, 1.5, NaN]) {
      assert.throws(() => ref.dropout(new Float32Array(4), 4, p, 0), RangeError, `ts p=${p}`);
      assert.throws(() => nat.dropout(new Float32Array(4), 4, p, 0), { name: 'RangeError', message: /dropout: dropout p must be in \[0, 1\)/ });
      assert.throws(() => nat.attentionForward(new Float32Array(8), new Float32Array(1), new Float32Array(24), null, 1, 1, 8, 1, MASK_VALUE, p, 0), RangeError);
      assert.throws(() => ref.attentionForward(new Float32Array(8), new Float32Array(1), new Float32Array(24), null, 1, 1, 8, 1, MASK_VALUE, p, 0), RangeError);
    }
    assert.throws(() => nat.dropout(new Float32Array(4), 5, 0.1, 0), /x has 4 elements/);
    assert.throws(() => nat.dropout(new Float32Array(4), 4, 0.1, 'a' as unknown as number), /seed must be a number/);
  }));

  test('attention with dropout on the probabilities, forward and backward', () => ownStream(202, () => {
    const shapes: [number, number, number, number][] = [
      [1, 1, 64, 1], [2, 5, 32, 2], [3, 17, 256, 4], [2, 33, 48, 3], [2, 9, 20, 4], [12, 6, 40, 2], [40, 17, 256, 4],
      [1, 64, 128, 2], [2, 258, 64, 1], [33, 17, 48, 3], [20, 31, 36, 2], [40, 16, 256, 4], [9, 12, 32, 2],
    ];
    let dropped = 0, kept = 0;
    for (const [B, T, H, nHead] of shapes) {
      const qkv = randn(B * T * 3 * H, 1.5);
      const padded = new Float32Array(B * T).fill(1);
      for (let b = 0; b < B; b++) for (let t = Math.max(1, T - b * 3); t < T; t++) padded[b * T + t] = 0;
      const holes = new Float32Array(B * T);
      for (let i = 0; i < B * T; i++) holes[i] = rnd() < 0.3 ? 0 : 1;
      const dout = randn(B * T * H);
      for (const [label, mask] of [['null', null], ['padded', padded], ['holes', holes]] as const) {
        // the plain attention (no dropout) of this case, native: the reference for att and for dropP = 0
        // (the backward takes the ts att, as the comparisons below do)
        const out0 = nans(B * T * H), att0 = nans(B * nHead * T * T), dq0 = nans(B * T * 3 * H);
        const attRef = new Float32Array(B * nHead * T * T);
        nat.attentionForward(out0, att0, qkv, mask, B, T, H, nHead, MASK_VALUE);
        ref.attentionForward(new Float32Array(B * T * H), attRef, qkv, mask, B, T, H, nHead, MASK_VALUE);
        nat.attentionBackward(dq0, dout, qkv, attRef, B, T, H, nHead);
        for (const [dropP, seed] of [[0, 77], [0.1, 1], [0.1, 0xdeadbeef], [0.5, 3]] as const) {
          const what = `attention B=${B} T=${T} H=${H} nHead=${nHead} mask=${label} dropP=${dropP} seed=${seed}`;
          const out = [new Float32Array(B * T * H), nans(B * T * H)];
          const att = [new Float32Array(B * nHead * T * T), nans(B * nHead * T * T)];
          ref.attentionForward(out[0], att[0], qkv, mask, B, T, H, nHead, MASK_VALUE, dropP, seed);
          nat.attentionForward(out[1], att[1], qkv, mask, B, T, H, nHead, MASK_VALUE, dropP, seed);
          within(normRel(out[1], out[0]), 2e-5, `${what} out`);
          within(normRel(att[1], att[0]), 2e-6, `${what} att`);
          // att is saved before dropout: exactly the plain attention's
          assert.deepEqual(att[1], att0, `${what}: att must be the undropped probabilities`);
          assert.deepEqual(att[0], attRef, `${what}: ts att must be the undropped probabilities`);
          if (dropP === 0) assert.deepEqual(out[1], out0, `${what}: dropP = 0 must be the plain attention`);
          else assert.ok(normRel(out[1], out0) > 1e-3, `${what}: dropout changed nothing`);

          const dq = [nans(B * T * 3 * H), nans(B * T * 3 * H)];
          ref.attentionBackward(dq[0], dout, qkv, att[0], B, T, H, nHead, dropP, seed);
          nat.attentionBackward(dq[1], dout, qkv, att[0], B, T, H, nHead, dropP, seed);
          within(normRel(dq[1], dq[0]), 2e-5, `${what} dqkv`);
          if (dropP === 0) assert.deepEqual(dq[1], dq0, `${what}: dropP = 0 must be the plain attention backward`);
          if (dropP === 0.5) {
            const m = att[0].slice().fill(1);
            ref.dropout(m, m.length, dropP, seed);
            for (const v of m) v === 0 ? dropped++ : kept++;
          }
        }
      }
    }
    assert.ok(dropped > 1000 && kept > 1000, `dropout at p = 0.5 dropped ${dropped}, kept ${kept}`);
  }));

  test('attention takes the mask value as an argument', () => ownStream(203, () => {
    // a mild value (−3) leaves the penalised keys a visible share of the softmax: a backend that ignored the
    // argument (kept −10000) would differ from the other by far more than the tolerance
    const B = 2, T = 6, H = 16, nHead = 2, qkv = randn(B * T * 3 * H);
    const mask = Float32Array.from({ length: B * T }, (_, i) => (i % 4 === 3 ? 0 : 1));
    const runs = [-3, MASK_VALUE].map((mv) => [ref, nat].map((k) => {
      const out = new Float32Array(B * T * H), att = new Float32Array(B * nHead * T * T);
      k.attentionForward(out, att, qkv, mask, B, T, H, nHead, mv);
      return att;
    }));
    for (const [ts, native] of runs) within(normRel(native, ts), 2e-6, 'att, ts vs native');
    const apart = normRel(runs[0][0], runs[1][0]);
    assert.ok(apart > 0.01, `att at −3 and at −10000 differ by only ${apart}`);
    for (const mv of [-Infinity, NaN, Infinity]) {
      for (const k of [ref, nat]) {
        assert.throws(() => k.attentionForward(new Float32Array(8), new Float32Array(1), new Float32Array(24), null, 1, 1, 8, 1, mv), { name: 'RangeError', message: /maskValue must be finite/ }, `${k.name} maskValue=${mv}`);
      }
    }
  }));

  test('patchEmbed forward and backward', () => {
    // V is an argument: bGPT's 257, and others (a wrong stride or range in either backend shows up)
    for (const [rows, S, H, V] of [[1, 1, 1, 257], [5, 4, 17, 257], [300, 16, 64, 257], [64, 16, 256, 257], [7, 3, 5, 2], [9, 4, 8, 300]] as const) {
      const W = randn(H * S * V), bias = randn(H), tokens = randInt(rows * S, 0, V);
      const want = new Float32Array(rows * H), got = nans(rows * H);
      ref.patchEmbedForward(want, W, bias, tokens, rows, S, H, V);
      nat.patchEmbedForward(got, W, bias, tokens, rows, S, H, V);
      within(elemRel(got, want, 1e-6), 1e-6, `patchEmbed forward ${rows}x${S}x${H}`);

      const dout = randn(rows * H), dW0 = randn(H * S * V), db0 = randn(H);
      const g = [dW0.slice(), db0.slice()], n = [dW0.slice(), db0.slice()];
      ref.patchEmbedBackward(g[0], g[1], dout, tokens, rows, S, H, V);
      nat.patchEmbedBackward(n[0], n[1], dout, tokens, rows, S, H, V);
      within(normRel(n[0], g[0]), 1e-6, `patchEmbed dW ${rows}x${S}x${H}`);
      within(normRel(n[1], g[1]), 1e-6, `patchEmbed dbias ${rows}x${S}x${H}`);
    }
  });

  test('embed forward and backward (negative tokens)', () => {
    for (const [rows, T, H] of [[1, 1, 1], [17, 17, 33], [17 * 60, 17, 256], [100, 7, 64]] as const) {
      const V = 257, wte = randn(V * H), wpe = randn(T * H);
      const tokens = randInt(rows, -1, V);
      for (let r = 0; r < rows; r += T) tokens[r] = -1; // the byte decoder's leading feature slot
      const want = new Float32Array(rows * H), got = nans(rows * H);
      ref.embedForward(want, wte, wpe, tokens, rows, T, H);
      nat.embedForward(got, wte, wpe, tokens, rows, T, H);
      assert.deepEqual(got, want);

      const dout = randn(rows * H), dwte0 = randn(V * H), dwpe0 = randn(T * H);
      const g = [dwte0.slice(), dwpe0.slice()], n = [dwte0.slice(), dwpe0.slice()];
      ref.embedBackward(g[0], g[1], dout, tokens, rows, T, H);
      nat.embedBackward(n[0], n[1], dout, tokens, rows, T, H);
      within(normRel(n[0], g[0]), 1e-6, `embed dwte ${rows}x${T}x${H}`);
      within(normRel(n[1], g[1]), 1e-6, `embed dwpe ${rows}x${T}x${H}`);
    }
  });

  test('crossEntropy: ignored rows, confident rows, dlogits null / separate / aliased', () => {
    for (const [rows, V] of [[1, 2], [5, 257], [300, 257], [64, 1000]] as const) {
      const logits = randn(rows * V, 3);
      const targets = randInt(rows, -1, V);
      targets[0] = Math.min(1, V - 1);
      if (rows > 2) {
        targets[1] = -5;
        logits[2 * V + targets[2]] = 25; // a confident row: p_y − 1 ≈ −1e-8
      }
      const scale = 1 / rows;
      const lossRef = ref.crossEntropy(null, logits, targets, rows, V, scale);
      const lossNull = nat.crossEntropy(null, logits, targets, rows, V, scale);
      assert.ok(Math.abs(lossNull - lossRef) <= 1e-6 * Math.abs(lossRef) + 1e-9, `loss ${lossNull} vs ${lossRef}`);

      const dRef = nans(rows * V), dGot = nans(rows * V);
      const l1 = ref.crossEntropy(dRef, logits, targets, rows, V, scale);
      const l2 = nat.crossEntropy(dGot, logits, targets, rows, V, scale);
      assert.ok(Math.abs(l2 - l1) <= 1e-6 * Math.abs(l1) + 1e-9);
      within(elemRel(dGot, dRef, 1e-6 * scale), 2e-5, `crossEntropy dlogits ${rows}x${V}`);
      // the confident row: its target entry is tiny and must keep its relative precision
      if (rows > 2) within(elemRel(dGot.subarray(2 * V, 3 * V), dRef.subarray(2 * V, 3 * V), 1e-30), 1e-4, 'confident row');

      const alias = logits.slice();
      const l3 = nat.crossEntropy(alias, alias, targets, rows, V, scale);
      assert.equal(l3, l2);
      assert.deepEqual(alias, dGot);
    }
  });

  test('softmax, aliased and not', () => {
    for (const [rows, V] of [[1, 1], [1, 257], [77, 33], [400, 257]] as const) {
      const x = randn(rows * V, 6);
      const want = new Float32Array(rows * V), got = nans(rows * V);
      ref.softmax(want, x, rows, V);
      nat.softmax(got, x, rows, V);
      within(elemRel(got, want, 1e-30), 1e-5, `softmax ${rows}x${V}`);
      const alias = x.slice();
      nat.softmax(alias, alias, rows, V);
      assert.deepEqual(alias, got);
    }
  });

  test('adamw', () => ownStream(205, () => {
    for (const n of [1, 1000, 100003]) {
      for (const [step, wd] of [[1, 0], [10, 0.1], [1000, 0.01]] as const) {
        const p0 = randn(n), g = randn(n, 1e-2), m0 = randn(n, 1e-3), v0 = randn(n, 1e-6, 1e-6);
        const a = [p0.slice(), m0.slice(), v0.slice()], b = [p0.slice(), m0.slice(), v0.slice()];
        ref.adamw(a[0], g, a[1], a[2], n, 1e-3, 0.9, 0.999, 1e-8, wd, step);
        nat.adamw(b[0], g, b[1], b[2], n, 1e-3, 0.9, 0.999, 1e-8, wd, step);
        within(elemRel(b[0], a[0], 1e-3), 1e-6, `adamw p n=${n} step=${step}`);
        within(elemRel(b[1], a[1], 1e-4), 1e-5, `adamw m n=${n} step=${step}`);
        within(elemRel(b[2], a[2], 1e-12), 1e-5, `adamw v n=${n} step=${step}`);
        // and the update itself (p − p0), ~lr per element: to 1e-3 of lr in every element (its relative
        // error would be ill-conditioned where the weight decay and the Adam step cancel)
        const dA = a[0].map((v, i) => v - p0[i]), dB = b[0].map((v, i) => v - p0[i]);
        within(dB.reduce((e, v, i) => Math.max(e, Math.abs(v - dA[i])), 0) / 1e-3, 1e-3, `adamw update n=${n} step=${step}`);
      }
    }
  }));

  test('bad calls throw instead of touching memory', () => {
    const A = new Float32Array(6), B = new Float32Array(6);
    assert.throws(() => nat.matmul(new Float32Array(3), A, B, null, 2, 3, 2, false, false, false), {
      name: 'TypeError',
      message: /matmul: C has 3 elements/,
    });
    assert.throws(() => nat.matmul(new Float32Array(4), A, B, new Float32Array(1), 2, 3, 2, false, false, false), /bias/);
    assert.throws(
      () => nat.addInPlace(new Float64Array(4) as unknown as Float32Array, new Float32Array(4), 4),
      { name: 'TypeError', message: /addInPlace: y must be a Float32Array/ },
    );
    assert.throws(() => nat.addInPlace(new Float32Array(4), new Float32Array(4), -1), /non-negative integer/);
    assert.throws(() => nat.addInPlace(new Float32Array(4), new Float32Array(4), 2.5), /non-negative integer/);
    assert.throws(
      () => nat.attentionForward(new Float32Array(64), new Float32Array(1), new Float32Array(192), null, 1, 1, 64, 3, MASK_VALUE),
      /nHead/,
    );
    assert.throws(
      () => nat.patchEmbedForward(new Float32Array(1), new Float32Array(257), new Float32Array(1), Int32Array.of(257), 1, 1, 1, VOCAB),
      { name: 'RangeError', message: /tokens\[0\] = 257/ },
    );
    assert.throws(
      () => nat.embedForward(new Float32Array(2), new Float32Array(4), new Float32Array(2), Int32Array.of(2), 1, 1, 2),
      { name: 'RangeError' },
    );
    assert.throws(
      () => nat.crossEntropy(null, new Float32Array(4), Int32Array.of(4), 1, 4, 1),
      { name: 'RangeError' },
    );
    assert.throws(() => nat.softmax(new Float32Array(4), new Float32Array(4), 2, 3), /softmax: out has 4 elements/);
    // zero sizes are fine
    nat.matmul(new Float32Array(0), A, B, null, 0, 3, 2, false, false, false);
    assert.equal(nat.crossEntropy(null, new Float32Array(0), new Int32Array(0), 0, 257, 1), 0);
  });
});

describe('aligned arrays', { skip }, () => {
  test('model weights, activations and caches start on 64-byte boundaries with the native backend', () => {
    const mod = (loaded as { addressMod64: (a: ArrayBufferView) => number }).addressMod64;
    const alloc = nat.alloc!;
    for (const n of [1024, 1025, 4099, 100_000, (1 << 20) + 3]) {
      const f = alloc.f32(n), u = alloc.u16(2 * n);
      assert.equal(f.length, n);
      assert.equal(u.length, 2 * n);
      assert.equal(mod(f), 0, `Float32Array(${n})`);
      assert.equal(mod(u), 0, `Uint16Array(${2 * n})`);
      assert.ok(f.every((x) => x === 0) && u.every((x) => x === 0));
    }
    // small arrays (which may live on the moving JavaScript heap) are left as they are
    assert.equal(alloc.f32(7).length, 7);
    const m = new BgptModel(nat, { hidden: 32, heads: 1, patchSize: 4, patchLength: 8, patchLayers: 1, byteLayers: 1 }, { rng: new Rng(1), grad: true });
    assert.equal(mod(m.params.data), 0);
    assert.equal(mod(m.params.grad!), 0);
    assert.equal(mod(m.params.w('byte_level_decoder.base.transformer.h.0.mlp.c_fc.weight')), 0);
    const cache = m.patchDecoder.gpt.newCache(2, 64);
    assert.equal(mod(cache.keys[0]), 0);
    // weights read from a file land where the backend wants them: the model adopts them without a copy
    const base = loadModelFile(nat, DEFAULT_MODEL, { precision: 'auto' });
    assert.equal(mod(base.model.params.data), 0);
    assert.equal(mod(base.model.params.half!.data), 0);
  });
});
