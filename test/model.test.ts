/** Model structure: parameter count, initialisation, pair selection, batching invariances. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tsKernels as k } from '../src/backend/ts/kernels.js';
import { collate } from '../src/data/patches.js';
import { BgptModel, selectPairs } from '../src/model/bgpt.js';
import { BgptClassifier } from '../src/model/classifier.js';
import { DEFAULT_CONFIG } from '../src/model/config.js';
import { buildLayout, initParams } from '../src/model/params.js';
import { Rng } from '../src/util/rng.js';

const tiny = { patchSize: 4, patchLength: 8, hidden: 16, patchLayers: 2, byteLayers: 1, heads: 2 };

describe('model', () => {
  it('the default config has the paper’s 110,084,352 parameters', () => {
    assert.equal(buildLayout(DEFAULT_CONFIG).count(), 110084352);
  });

  it('GPT-2 initialisation', () => {
    const cfg = { ...DEFAULT_CONFIG, patchLength: 64, patchLayers: 4, byteLayers: 2, hidden: 256, heads: 4 };
    const l = buildLayout(cfg);
    const buf = new Float32Array(l.size);
    initParams(l, buf, cfg, new Rng(0));
    const std = (name: string) => {
      const v = l.view(buf, name);
      let s = 0;
      for (const x of v) s += x * x;
      return Math.sqrt(s / v.length);
    };
    assert.ok(Math.abs(std('patch_level_decoder.base.h.0.attn.c_attn.weight') - 0.02) < 0.0005);
    assert.ok(Math.abs(std('patch_level_decoder.base.h.1.mlp.c_proj.weight') - 0.02 / Math.sqrt(8)) < 0.0003);
    assert.ok(Math.abs(std('byte_level_decoder.base.transformer.h.0.attn.c_proj.weight') - 0.02 / Math.sqrt(4)) < 0.0005);
    assert.ok(l.view(buf, 'patch_level_decoder.base.h.0.ln_1.weight').every((x) => x === 1));
    assert.ok(l.view(buf, 'byte_level_decoder.base.transformer.ln_f.bias').every((x) => x === 0));
    assert.ok(l.view(buf, 'patch_level_decoder.patch_embedding.bias').every((x) => x === 0));
  });

  it('pairs sources and targets like the original boolean indexing', () => {
    const { src, tgt } = selectPairs(Uint8Array.from([1, 1, 1, 0, 1, 1, 0, 0]), 2, 4);
    assert.deepEqual([...src], [0, 1, 4]);
    assert.deepEqual([...tgt], [1, 2, 5]);
    assert.throws(() => selectPairs(Uint8Array.from([0, 1, 1]), 1, 3), /source/);
  });

  it('padding does not change a sequence’s loss (per-sequence sums)', () => {
    const rng = new Rng(2);
    const m = new BgptModel(k, tiny, { rng });
    const a = Int32Array.from({ length: 5 * 4 }, () => rng.int(256)), b = Int32Array.from({ length: 3 * 4 }, () => rng.int(257));
    const both = m.forward(collate([a, b], 4), { perSequence: true });
    const alone = m.forward(collate([b], 4));
    assert.ok(Math.abs(both.perSequence!.sum[1] / both.perSequence!.tokens[1] - alone.loss) < 1e-6);
    const total = (both.perSequence!.sum[0] + both.perSequence!.sum[1]) / (both.perSequence!.tokens[0] + both.perSequence!.tokens[1]);
    assert.ok(Math.abs(total - both.loss) < 1e-6);
  });

  it('patch sampling keeps k pairs, and the same rng seed picks the same ones', () => {
    const rng = new Rng(4);
    const m = new BgptModel(k, tiny, { rng });
    const seq = Int32Array.from({ length: 8 * 4 }, () => rng.int(256));
    const batch = collate([seq, seq], 4);
    const r1 = m.forward(batch, { sample: 5, rng: new Rng(9) });
    const r2 = m.forward(batch, { sample: 5, rng: new Rng(9) });
    assert.equal(r1.pairs, 5);
    assert.equal(r1.loss, r2.loss);
    assert.equal(m.forward(batch, { sample: 100, rng: new Rng(9) }).pairs, 14);
  });

  it('the classifier gives a file the same logits alone and in a padded batch', () => {
    const rng = new Rng(3);
    const c = new BgptClassifier(k, tiny, 4, { rng });
    const a = Int32Array.from({ length: 6 * 4 }, () => rng.int(257)), b = Int32Array.from({ length: 2 * 4 }, () => rng.int(257));
    const both = c.forward(collate([a, b], 4)).logits;
    const alone = c.forward(collate([b], 4)).logits;
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(both[4 + i] - alone[i]) < 1e-6);
  });

  it('dropout: gradients match central differences with the masks held fixed', () => {
    const rng = new Rng(8);
    const m = new BgptModel(k, tiny, { rng, grad: true });
    const batch = collate([Int32Array.from({ length: 6 * 4 }, () => rng.int(257)), Int32Array.from({ length: 4 * 4 }, () => rng.int(257))], 4);
    // the same seed draws the same masks, so the loss is a deterministic function of the parameters
    const loss = () => m.forward(batch, { grad: true, dropout: 0.3, rng: new Rng(42) }).loss;
    m.zeroGrad();
    m.forward(batch, { grad: true, dropout: 0.3, rng: new Rng(42) });
    m.backward();
    const g = Float32Array.from(m.params.grad!), p = m.params.data;
    const order = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 30);
    for (const i of order) {
      const x0 = p[i], h = 2e-3;
      p[i] = x0 + h;
      const up = loss();
      p[i] = x0 - h;
      const down = loss();
      p[i] = x0;
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(fd - g[i]) <= 2e-3 * Math.abs(g[i]) + 1e-4, `param ${i}: fd ${fd} vs ${g[i]}`);
    }
    // and dropout changes the loss (it is really applied)
    assert.notEqual(loss(), m.forward(batch).loss);
  });
});
