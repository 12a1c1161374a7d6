/**
 * Finite-difference checks of every backward kernel of the reference backend, run in float64 (the ts
 * kernels only index their arrays, so Float64Array inputs make the check exact to ~1e-9), and of the whole
 * classifier (whose gradients have no PyTorch vector) in float32.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tsKernels as k } from '../src/backend/ts/kernels.js';
import { BgptClassifier } from '../src/model/classifier.js';
import { Rng } from '../src/util/rng.js';

type F = Float32Array;
const f64 = (n: number, rng: Rng, scale = 1) => Float64Array.from({ length: n }, () => rng.normal() * scale) as unknown as F;
const zeros = (n: number) => new Float64Array(n) as unknown as F;

/** Checks d(Σ out·R)/d(x) from `backward` against central differences on every coordinate of x. */
function check(name: string, x: F, forward: () => F, analytic: F, R: F, tol = 1e-6): void {
  const h = 1e-5;
  let worst = 0, scale = 1e-12;
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    let up = 0;
    const o1 = forward();
    for (let j = 0; j < o1.length; j++) up += o1[j] * R[j];
    x[i] = x0 - h;
    let down = 0;
    const o2 = forward();
    for (let j = 0; j < o2.length; j++) down += o2[j] * R[j];
    x[i] = x0;
    const fd = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - analytic[i]));
    scale = Math.max(scale, Math.abs(fd));
  }
  assert.ok(worst / scale <= tol, `${name}: relative error ${worst / scale}`);
}

describe('finite-difference gradients of the kernels (ts, float64)', () => {
  const rng = new Rng(3);

  it('matmul (all transposes) and bias', () => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const M = 3, K = 4, N = 5;
      const A = f64(M * K, rng), B = f64(K * N, rng), bias = f64(N, rng), R = f64(M * N, rng), C = zeros(M * N);
      const fwd = () => (k.matmul(C, A, B, bias, M, K, N, tA, tB, false), C);
      // dA = R·op(B)ᵀ etc., computed with the kernel itself in the layouts the model uses
      const dopA = zeros(M * K), dopB = zeros(K * N);
      k.matmul(dopA, R, B, null, M, N, K, false, !tB, false); // [M,K] = R[M,N]·op(B)ᵀ
      k.matmul(dopB, A, R, null, K, M, N, !tA, false, false); // [K,N] = op(A)ᵀ·R
      const dA = tA ? transpose(dopA, M, K) : dopA, dB = tB ? transpose(dopB, K, N) : dopB;
      check(`matmul dA ${tA}${tB}`, A, fwd, dA, R);
      check(`matmul dB ${tA}${tB}`, B, fwd, dB, R);
      const db = zeros(N);
      k.biasGrad(db, R, M, N, false);
      check('bias', bias, fwd, db, R);
    }
  });

  it('layernorm', () => {
    const rows = 3, H = 7, x = f64(rows * H, rng, 2), w = f64(H, rng), b = f64(H, rng), R = f64(rows * H, rng);
    const out = zeros(rows * H), mean = zeros(rows), rstd = zeros(rows);
    const fwd = () => (k.layerNormForward(out, mean, rstd, x, w, b, rows, H, 1e-5), out);
    fwd();
    const dx = zeros(rows * H), dw = zeros(H), db = zeros(H);
    k.layerNormBackward(dx, dw, db, R, x, mean, rstd, w, rows, H);
    check('layernorm dx', x, fwd, dx, R);
    check('layernorm dw', w, fwd, dw, R);
    check('layernorm db', b, fwd, db, R);
  });

  it('gelu_new', () => {
    const n = 50, x = f64(n, rng, 3), R = f64(n, rng), out = zeros(n), dx = zeros(n);
    const fwd = () => (k.geluForward(out, x, n), out);
    k.geluBackward(dx, x, R, n);
    check('gelu', x, fwd, dx, R);
  });

  it('attention, causal, with and without a key mask', () => {
    const B = 2, T = 5, H = 8, nHead = 2;
    for (const withMask of [false, true]) {
      const qkv = f64(B * T * 3 * H, rng), R = f64(B * T * H, rng), out = zeros(B * T * H), att = zeros(B * nHead * T * T);
      const mask = withMask ? (Float64Array.from([1, 1, 1, 0, 0, 1, 1, 1, 1, 1]) as unknown as F) : null;
      const fwd = () => (k.attentionForward(out, att, qkv, mask, B, T, H, nHead), out);
      fwd();
      const d = zeros(qkv.length);
      k.attentionBackward(d, R, qkv, att, B, T, H, nHead);
      check(`attention mask=${withMask}`, qkv, fwd, d, R);
    }
  });

  it('patch embedding (gather-sum) and token/position embedding', () => {
    const S = 3, H = 4, rows = 5, V = 257;
    const W = f64(H * S * V, rng), bias = f64(H, rng), R = f64(rows * H, rng), out = zeros(rows * H);
    const tokens = Int32Array.from({ length: rows * S }, (_, i) => (i * 37 + 11) % V);
    tokens[2] = tokens[5]; // a repeated (position, token) pair must accumulate
    const fwd = () => (k.patchEmbedForward(out, W, bias, tokens, rows, S, H), out);
    const dW = zeros(W.length), db = zeros(H);
    k.patchEmbedBackward(dW, db, R, tokens, rows, S, H);
    check('patch embedding bias', bias, fwd, db, R);
    // only the gathered columns have a gradient; check them and that the rest stay zero
    const used = new Set<number>();
    for (let r = 0; r < rows; r++) for (let s = 0; s < S; s++) for (let h = 0; h < H; h++) used.add(h * S * V + s * V + tokens[r * S + s]);
    const sub = Float64Array.from(used, (i) => W[i]) as unknown as F;
    const idx = [...used];
    const fwdSub = () => {
      idx.forEach((j, n) => (W[j] = sub[n]));
      return fwd();
    };
    check('patch embedding W', sub, fwdSub, Float64Array.from(idx, (i) => dW[i]) as unknown as F, R);
    let other = 0;
    for (let i = 0; i < dW.length; i++) if (!used.has(i)) other += Math.abs(dW[i]);
    assert.equal(other, 0);

    const T = 3, wte = f64(V * H, rng), wpe = f64(T * H, rng), toks = Int32Array.from([-1, 5, 7, -1, 5, 256]);
    const o2 = zeros(6 * H), R2 = f64(6 * H, rng);
    const fwd2 = () => (k.embedForward(o2, wte, wpe, toks, 6, T, H), o2);
    const dwte = zeros(wte.length), dwpe = zeros(wpe.length);
    k.embedBackward(dwte, dwpe, R2, toks, 6, T, H);
    check('wpe', wpe, fwd2, dwpe, R2);
    const rowsUsed = [5, 7, 256];
    const sub2 = Float64Array.from(rowsUsed.flatMap((t) => [...Array(H).keys()].map((i) => wte[t * H + i]))) as unknown as F;
    const fwd2b = () => {
      rowsUsed.forEach((t, n) => { for (let i = 0; i < H; i++) wte[t * H + i] = sub2[n * H + i]; });
      return fwd2();
    };
    check('wte', sub2, fwd2b, Float64Array.from(rowsUsed.flatMap((t) => [...Array(H).keys()].map((i) => dwte[t * H + i]))) as unknown as F, R2);
  });

  it('softmax cross-entropy', () => {
    const rows = 4, V = 9, x = f64(rows * V, rng, 2), targets = Int32Array.from([3, -1, 0, 8]);
    const d = zeros(rows * V);
    const loss = k.crossEntropy(d, x, targets, rows, V, 1);
    const one = Float64Array.from([1]) as unknown as F;
    check('cross-entropy', x, () => Float64Array.from([k.crossEntropy(null, x, targets, rows, V, 1)]) as unknown as F, d, one);
    assert.ok(Number.isFinite(loss) && loss > 0);
  });
});

function transpose(a: F, r: number, c: number): F {
  const t = zeros(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}

describe('finite-difference gradients of the whole classifier (float32)', () => {
  it('matches central differences on the largest gradients', () => {
    const rng = new Rng(5);
    const cfg = { patchSize: 4, patchLength: 8, hidden: 16, patchLayers: 2, byteLayers: 0, heads: 2 };
    const m = new BgptClassifier(k, cfg, 3, { rng, grad: true });
    // two files of different lengths in one padded batch
    const tokens = Int32Array.from({ length: 2 * 5 * 4 }, () => rng.int(257));
    const masks = Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    const batch = { tokens, masks, B: 2, N: 5 }, targets = Int32Array.from([2, 0]);
    m.forward(batch, targets, true);
    m.backward();
    const g = m.params.grad!, p = m.params.data;
    const order = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 40);
    for (const i of order) {
      const x0 = p[i], h = 2e-3;
      p[i] = x0 + h;
      const up = m.forward(batch, targets).loss!;
      p[i] = x0 - h;
      const down = m.forward(batch, targets).loss!;
      p[i] = x0;
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(fd - g[i]) <= 1e-3 * Math.abs(g[i]) + 1e-4, `param ${i}: fd ${fd} vs ${g[i]}`);
    }
  });
});
