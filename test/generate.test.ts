/** Cached generation against full recomputation and the reference vectors; sampling rules; prompts. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { headerPatch } from '../src/data/patches.js';
import { loadModelFile } from '../src/io/weights.js';
import { BgptModel } from '../src/model/bgpt.js';
import { CachedDecoder } from '../src/model/generator.js';
import { filterProbs, sample } from '../src/model/sampling.js';
import { AdamW } from '../src/optim/adamw.js';
import { conversionPrompt, continueTokens } from '../src/api/generate.js';
import { Rng } from '../src/util/rng.js';
import { VECTORS, everyBackend, maxAbsErr, recomputeProbs, vectors } from './helpers.js';

for (const { name, kernels: k, skip } of everyBackend()) {
  describe(`KV-cached generation (${name})`, { skip }, () => {
    const cfg = { patchSize: 4, patchLength: 10, hidden: 32, patchLayers: 2, byteLayers: 2, heads: 2 };

    it('every next-byte distribution equals a full recompute', () => {
      const rng = new Rng(11);
      const m = new BgptModel(k, cfg, { rng });
      const gen = new CachedDecoder(m), one = Int32Array.of(0);
      const context: number[] = [...headerPatch('txt', 4)];
      gen.pushPatches(one, Int32Array.from(context));
      for (let patch = 0; patch < 5; patch++) {
        const bytes: number[] = [];
        let probs = gen.step(one, Int32Array.of(-1));
        for (let i = 0; i < 4; i++) {
          const want = recomputeProbs(m, Int32Array.from(context), bytes);
          assert.ok(maxAbsErr(probs, want) <= 1e-5, `patch ${patch} byte ${i}: ${maxAbsErr(probs, want)}`);
          const t = rng.int(256);
          bytes.push(t);
          if (i < 3) probs = gen.step(one, Int32Array.of(t));
        }
        context.push(...bytes);
        gen.pushPatches(one, Int32Array.from(bytes));
      }
      // a multi-patch prefill gives the same state as one patch at a time
      const g2 = new CachedDecoder(m);
      g2.pushPatches(one, Int32Array.from(context));
      assert.ok(maxAbsErr(g2.step(one, Int32Array.of(-1)), recomputeProbs(m, Int32Array.from(context), [])) <= 1e-5);
    });

    it('reproduces generate_probs of the reference vectors', () => {
      const m = loadModelFile(k, join(VECTORS, 'weights.safetensors'), { grad: true }).model as BgptModel;
      // those vectors were made after the reference's AdamW step (see parity.test.ts)
      const a = vectors.adamw_step, c = vectors.cases.find((x) => x.name === a.case)!;
      m.forward({ tokens: Int32Array.from(c.inputs.flat()), masks: Uint8Array.from(c.masks.flat()), B: 2, N: c.masks[0].length }, { grad: true });
      m.backward();
      new AdamW(k, m.layout.size, { lr: a.lr }).update(m.params.data, m.params.grad!);
      const g = vectors.generate_probs, gen = new CachedDecoder(m), one = Int32Array.of(0);
      gen.pushPatches(one, Int32Array.from(g.context_bytes));
      gen.step(one, Int32Array.of(-1));
      gen.step(one, Int32Array.of(g.tokens[1]));
      const probs = gen.step(one, Int32Array.of(g.tokens[2]));
      assert.ok(maxAbsErr(probs, g.probs) <= 1e-5, `${maxAbsErr(probs, g.probs)}`);
    });

    it('greedy generation equals greedy recomputation, byte for byte', () => {
      const m = loadModelFile(k, join(VECTORS, 'weights.safetensors')).model as BgptModel;
      const S = m.cfg.patchSize, L = m.cfg.patchLength;
      const argmax = (p: Float32Array) => p.indexOf(Math.max(...p));
      // recompute: the original scheme, patch by patch, until <eop> or L patches
      const seq: number[] = [...headerPatch('txt', S)], want: number[] = [];
      for (;;) {
        // one patch byte by byte, recomputing both decoders over the whole prefix each time
        const patch: number[] = [];
        while (patch.length < S && patch[patch.length - 1] !== 256) patch.push(argmax(recomputeProbs(m, Int32Array.from(seq), patch)));
        const end = patch.indexOf(256);
        want.push(...(end < 0 ? patch : patch.slice(0, end)));
        if (end >= 0 || seq.length / S + 1 >= L) break;
        seq.push(...patch);
      }
      // an empty continuation on both sides would make the comparison vacuous: this model writes 28 bytes
      assert.ok(want.length > 0, 'the greedy recomputation produced no bytes to compare');
      const got = continueTokens(m, headerPatch('txt', S), [], { topK: 1, topP: 1, temperature: 1, rng: new Rng(0) });
      assert.deepEqual([...got.bytes], want);
    });
  });
}

describe('sampling', () => {
  const probs = Float64Array.from([0.1, 0.5, 0.15, 0.25]);

  it('top-k = 1 and a tiny top-p always give the most probable token', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 50; i++) {
      assert.equal(sample(probs, { topK: 1, topP: 1, temperature: 1 }, rng), 1);
      assert.equal(sample(probs, { topK: 0, topP: 1e-9, temperature: 1 }, rng), 1);
      assert.equal(sample(probs, { topK: 0, topP: 1, temperature: 1e-3 }, rng), 1);
    }
  });

  it('filters in the order top-k, top-p, temperature', () => {
    const close = (a: ArrayLike<number>, b: number[]) => assert.ok(maxAbsErr(a, b) < 1e-12, `${[...a]} vs ${b}`);
    close(filterProbs(probs, { topK: 2, topP: 1, temperature: 1 }), [0, 0.5 / 0.75, 0, 0.25 / 0.75]);
    // top-p keeps the smallest set reaching p: 0.5 + 0.25 = 0.75 ≥ 0.7
    close(filterProbs(probs, { topK: 0, topP: 0.7, temperature: 1 }), [0, 0.5 / 0.75, 0, 0.25 / 0.75]);
    close(filterProbs(probs, { topK: 0, topP: 0.76, temperature: 1 }), [0, 0.5 / 0.9, 0.15 / 0.9, 0.25 / 0.9]);
    // after top-k = 3 the mass is renormalised before top-p looks at it
    close(filterProbs(probs, { topK: 3, topP: 0.8, temperature: 1 }), [0, 0.5 / 0.75, 0, 0.25 / 0.75]);
    const t = 0.5, w = [0.1, 0.5, 0.15, 0.25].map((p) => p ** (1 / t)), s = w.reduce((a, b) => a + b);
    close(filterProbs(probs, { topK: 0, topP: 1, temperature: t }), w.map((x) => x / s));
  });

  it('draws with the filtered frequencies, reproducibly per seed', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed), counts = [0, 0, 0, 0];
      for (let i = 0; i < 20000; i++) counts[sample(probs, { topK: 0, topP: 1, temperature: 2 }, rng)]++;
      return counts;
    };
    const c = draw(3);
    assert.deepEqual(c, draw(3));
    const w = [0.1, 0.5, 0.15, 0.25].map(Math.sqrt), s = w.reduce((a, b) => a + b);
    c.forEach((n, i) => assert.ok(Math.abs(n / 20000 - w[i] / s) < 0.015, `token ${i}: ${n / 20000} vs ${w[i] / s}`));
  });
  it('without filters draws exactly the token the filtered distribution gives (same rng stream)', () => {
    const plain = { topK: 0, topP: 1, temperature: 1 };
    const fromFiltered = (p: ArrayLike<number>, rng: Rng) => {
      const q = filterProbs(p, plain);
      let u = rng.next(), last = 0;
      for (let i = 0; i < q.length; i++) {
        if (q[i] <= 0) continue;
        last = i;
        if ((u -= q[i]) < 0) return i;
      }
      return last;
    };
    const src = new Rng(7);
    for (let t = 0; t < 300; t++) {
      // unnormalised float32 probabilities over 257 tokens, some zero, as the decoder's softmax may leave them
      const p = Float32Array.from({ length: 257 }, () => (src.next() < 0.3 ? 0 : src.next() ** 4));
      const a = new Rng(1000 + t), b = new Rng(1000 + t);
      for (let d = 0; d < 20; d++) assert.equal(sample(p, plain, a), fromFiltered(p, b));
    }
    assert.throws(() => sample(new Float32Array(4), plain, new Rng(1)), /all-zero/);
  });
});

describe('conversion prompt', () => {
  it('is the input without its end patch, then the target header (docs/format.md §5)', () => {
    const p = conversionPrompt(Buffer.from('abcde'), 'abc', 'mid', 4, 8);
    assert.deepEqual([...p], [97, 98, 99, 256, 97, 98, 99, 100, 101, 256, 256, 256, 109, 105, 100, 256]);
    // too long an input is cut so that one patch can still be generated
    assert.equal(conversionPrompt(new Uint8Array(100), 'abc', 'mid', 4, 8).length / 4, 7);
  });
});
