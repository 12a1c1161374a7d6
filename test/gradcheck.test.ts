/**
 * Finite-difference checks of every backward kernel of the reference backend, run in float64 (the ts
 * kernels only index their arrays, so Float64Array inputs make the check exact to ~1e-9), and of the whole
 * classifier (whose gradients have no PyTorch vector) in float32.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tsKernels as k } from '../src/backend/ts/kernels.js';
import { BgptClassifier } from '../src/model/classifier.js';
import { MASK_VALUE } from '../src/nn/attention.js';
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
      const fwd = () => (k.attentionForward(out, att, qkv, mask, B, T, H, nHead, MASK_VALUE), out);
      fwd();
      const d = zeros(qkv.length);
      k.attentionBackward(d, R, qkv, att, B, T, H, nHead);
      check(`attention mask=${withMask}`, qkv, fwd, d, R);
    }
  });

  it('dropout: the backward is the same call on the gradient', () => {
    const n = 60, x = f64(n, rng), R = f64(n, rng), out = zeros(n);
    for (const [p, seed] of [[0.1, 0], [0.5, 12345], [0.9, 0xffffffff]] as const) {
      const fwd = () => (out.set(x), k.dropout(out, n, p, seed), out);
      const g = R.slice();
      k.dropout(g, n, p, seed);
      check(`dropout p=${p}`, x, fwd, g, R);
      const o = fwd();
      const dropped = [...o].filter((v) => v === 0).length;
      if (p >= 0.5) assert.ok(dropped > 0 && dropped < n, `p=${p}: ${dropped} of ${n} dropped`);
      for (let i = 0; i < n; i++) if (o[i] !== 0) assert.equal(o[i], x[i] * Math.fround(1 / (1 - p)));
    }
  });

  it('attention with dropout on the probabilities, with and without a key mask', () => {
    const B = 2, T = 5, H = 8, nHead = 2, dropP = 0.3, seed = 4242;
    for (const withMask of [false, true]) {
      const qkv = f64(B * T * 3 * H, rng), R = f64(B * T * H, rng), out = zeros(B * T * H), att = zeros(B * nHead * T * T);
      const mask = withMask ? (Float64Array.from([1, 1, 1, 0, 0, 1, 1, 1, 1, 1]) as unknown as F) : null;
      const fwd = () => (k.attentionForward(out, att, qkv, mask, B, T, H, nHead, MASK_VALUE, dropP, seed), out);
      fwd();
      const first = out.slice();
      assert.deepEqual(fwd(), first, 'deterministic');
      const d = zeros(qkv.length);
      k.attentionBackward(d, R, qkv, att, B, T, H, nHead, dropP, seed);
      check(`attention dropout mask=${withMask}`, qkv, fwd, d, R);

      // att is saved undropped; out = (dropout(att) with the same p and seed, as a flat [B,nHead,T,T] array)·v:
      // the attention's mask index is the index of att[b,h,t,u]
      const out0 = zeros(B * T * H), att0 = zeros(att.length);
      k.attentionForward(out0, att0, qkv, mask, B, T, H, nHead, MASK_VALUE);
      assert.deepEqual(att, att0);
      const dropped = att0.slice();
      k.dropout(dropped, dropped.length, dropP, seed);
      let zeroed = 0;
      for (let i = 0; i < att0.length; i++) if (dropped[i] === 0 && att0[i] !== 0) zeroed++;
      assert.ok(zeroed > 0, 'some probabilities dropped');
      const d3 = H / nHead;
      for (let b = 0; b < B; b++) for (let h = 0; h < nHead; h++) for (let t = 0; t < T; t++) for (let i = 0; i < d3; i++) {
        let acc = 0;
        for (let u = 0; u < T; u++) acc += dropped[((b * nHead + h) * T + t) * T + u] * qkv[(b * T + u) * 3 * H + 2 * H + h * d3 + i];
        const o = (b * T + t) * H + h * d3 + i;
        assert.ok(Math.abs(acc - out[o]) <= 1e-12 * (1 + Math.abs(acc)), `out[${o}] ${out[o]} vs ${acc}`);
      }
    }
  });

  it('patch embedding (gather-sum) and token/position embedding', () => {
    const S = 3, H = 4, rows = 5, V = 257;
    const W = f64(H * S * V, rng), bias = f64(H, rng), R = f64(rows * H, rng), out = zeros(rows * H);
    const tokens = Int32Array.from({ length: rows * S }, (_, i) => (i * 37 + 11) % V);
    tokens[2] = tokens[5]; // a repeated (position, token) pair must accumulate
    const fwd = () => (k.patchEmbedForward(out, W, bias, tokens, rows, S, H, V), out);
    const dW = zeros(W.length), db = zeros(H);
    k.patchEmbedBackward(dW, db, R, tokens, rows, S, H, V);
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

/** (seed, i, r): dropout's uint32 hash r of element i under seed, computed independently of the kernels. */
const DROP_GOLDEN: [number, number, number][] = [
  [0, 1, 804215951], [1, 0, 2534299032], [12345, 7, 2512245540], [4294967295, 99999, 1331772963],
  [42, 70000, 2066580111], [7, 131073, 1391428815], [2147483648, 3, 2110120165],
];

describe('dropout mask statistics (ts)', () => {
  const n = 100_000;
  const maskOf = (seed: number, p = 0.1, len = n): Float32Array => {
    const x = new Float32Array(len).fill(1);
    k.dropout(x, len, p, seed);
    return x;
  };
  const seeds = [0, 1, 2, 12345, 0xdeadbeef, 0xffffffff];

  it('keeps a fraction 1 − p, scaled by float32 1/(1 − p)', () => {
    for (const [p, tol] of [[0.1, 0.005], [0.5, 0.005], [0.01, 0.002]] as const) {
      const scale = Math.fround(1 / (1 - p));
      for (const s of seeds) {
        const m = maskOf(s, p);
        let kept = 0;
        for (const v of m) {
          if (v !== 0) {
            kept++;
            assert.equal(v, scale);
          }
        }
        assert.ok(Math.abs(kept / n - (1 - p)) <= tol, `p=${p} seed=${s}: kept ${kept / n}`);
      }
    }
    // p = 0 keeps all (returns at once, no scaling)
    assert.ok(maskOf(3, 0).every((v) => v === 1));
  });

  it('different seeds give different, uncorrelated masks', () => {
    for (let a = 0; a < seeds.length; a++) for (let b = a + 1; b < seeds.length; b++) {
      const ma = maskOf(seeds[a]), mb = maskOf(seeds[b]);
      let both = 0, differ = 0;
      for (let i = 0; i < n; i++) {
        if (ma[i] === 0 && mb[i] === 0) both++;
        if ((ma[i] === 0) !== (mb[i] === 0)) differ++;
      }
      // independent masks: P(both dropped) = 0.01, P(differ) = 0.18
      assert.ok(Math.abs(both / n - 0.01) < 0.002, `seeds ${seeds[a]}, ${seeds[b]}: both dropped ${both / n}`);
      assert.ok(Math.abs(differ / n - 0.18) < 0.01, `seeds ${seeds[a]}, ${seeds[b]}: differ ${differ / n}`);
    }
    // neighbouring elements are independent too
    const m = maskOf(7);
    let pairs = 0;
    for (let i = 1; i < n; i++) if (m[i] === 0 && m[i - 1] === 0) pairs++;
    assert.ok(Math.abs(pairs / n - 0.01) < 0.002, `adjacent dropped pairs ${pairs / n}`);
  });

  it('is the hash of the spec: golden values, and r == threshold is kept', () => {
    // (seed, i, r = fmix32(fmix32(i ^ key) + key), key = fmix32(seed)), computed independently (Python)
    for (const [seed, i, r] of DROP_GOLDEN) {
      const at = (p: number) => {
        const x = new Float32Array(i + 1).fill(1);
        k.dropout(x, i + 1, p, seed);
        return x[i];
      };
      assert.notEqual(at(r / 2 ** 32), 0, `seed ${seed} i ${i}: r = threshold must be kept`); // threshold = r exactly
      assert.equal(at((r + 1) / 2 ** 32), 0, `seed ${seed} i ${i}: r = threshold − 1 must be dropped`);
      assert.notEqual(at((r - 1) / 2 ** 32), 0);
    }
  });

  it('the mask of seed s does not depend on n (prefix property)', () => {
    for (const s of seeds) {
      const long = maskOf(s);
      for (const len of [1, 17, 1000, 65537]) assert.deepEqual(maskOf(s, 0.1, len), long.subarray(0, len), `seed ${s} n ${len}`);
    }
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
