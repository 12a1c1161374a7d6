/**
 * `bgpt cpu evaluate --model`: a model predicts each file's states from its memory and first record. Checked
 * with models whose accuracy is known without the evaluator: one that writes the same byte everywhere, one
 * trained until it has memorised the single program it is then asked about, and an untrained one.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BgptModel, Rng, saveWeights, tsKernels, type BgptConfig } from '../src/index.js';
import { bgpt, tmp } from './cli-run.js';

const json = (args: string[]) => {
  const r = bgpt(...args);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
};

/** A model's weights file: random (untrained), or with every parameter zero but what `set` writes. */
function weights(path: string, cfg: BgptConfig, set?: (m: BgptModel) => void): string {
  const m = new BgptModel(tsKernels, cfg, { rng: new Rng(1) });
  if (set) {
    m.params.data.fill(0);
    set(m);
  }
  saveWeights(path, m.layout, m.params.data);
  return path;
}

describe('bgpt cpu evaluate --model', () => {
  it('a model that always writes byte c scores exactly the share of c among the bytes after the first record', () => {
    const d = tmp('cpu-model');
    json(['cpu', 'generate', '--out', d, '--train', '1', '--test', '3', '--memory', '64', '--max-program', '4', '--seed', '2', '--json']);
    const test = join(d, 'test');
    // the bytes to predict: everything after 64 bytes of memory and the 16-byte first record
    const rest = readdirSync(test).map((f) => readFileSync(join(test, f)).subarray(64 + 16));
    const counts = new Array(256).fill(0);
    for (const r of rest) for (const b of r) counts[b]++;
    const c = counts.indexOf(Math.max(...counts)), total = rest.reduce((n, r) => n + r.length, 0);
    // all weights zero: every hidden state is the final layernorm's bias e₀, so the logits are column 0 of the
    // (tied) byte embedding, which is 20 for byte c and 0 elsewhere; 16 patches leave room for 10 of output
    const H = 32, cfg = { patchSize: 16, patchLength: 16, hidden: H, patchLayers: 1, byteLayers: 1, heads: 1 };
    const always = weights(join(d, 'always.safetensors'), cfg, (m) => {
      m.params.data[m.layout.get('byte_level_decoder.base.transformer.ln_f.bias').offset] = 1;
      m.params.data[m.layout.get('byte_level_decoder.base.transformer.wte.weight').offset + c * H] = 20;
    });
    const j = json(['cpu', 'evaluate', test, '--memory', '64', '--model', always, '--json']);
    assert.equal(j.files, 3);
    assert.equal(j.total, total);
    assert.equal(j.matched, counts[c]);
    assert.ok(j.accuracy > 0.05 && Math.abs(j.accuracy - counts[c] / total) < 1e-12, `accuracy ${j.accuracy}, byte ${c}: ${counts[c]} of ${total}`);
    const sim = json(['cpu', 'evaluate', test, '--memory', '64', '--json']);
    assert.equal(sim.accuracy, 1, 'the simulator itself');
  });

  it('a tiny model trained on one program reproduces it (100 %); an untrained one is at least 50 points below', () => {
    const d = tmp('cpu-model');
    // one program of 3 instructions, 2 registers (8-byte records = one patch of 8), 16 bytes of memory
    const cpu = ['--memory', '16', '--registers', '2'];
    json(['cpu', 'generate', '--out', d, '--train', '1', '--test', '1', ...cpu, '--min-program', '3', '--max-program', '3', '--seed', '7', '--json']);
    const test = join(d, 'test'), one = join(d, 'one'), [file] = readdirSync(test);
    mkdirSync(one);
    for (let i = 0; i < 4; i++) copyFileSync(join(test, file), join(one, `p${i}.bin`));
    const size = ['--hidden', '32', '--patch-layers', '1', '--byte-layers', '1', '--patch-size', '8', '--patch-length', '9'];
    const trained = join(d, 'trained.safetensors');
    const r = bgpt('train', '--train', one, '--eval', one, '--out', trained, ...size, '--batch-size', '1', '--epochs', '25', '--lr', '1e-2', '--warmup', '0.05', '--dropout', '0', '--seed', '1');
    assert.equal(r.code, 0, r.err);
    const untrained = weights(join(d, 'untrained.safetensors'), { hidden: 32, patchLayers: 1, byteLayers: 1, patchSize: 8, patchLength: 9, heads: 1 });
    const t = json(['cpu', 'evaluate', test, ...cpu, '--model', trained, '--json']);
    const u = json(['cpu', 'evaluate', test, ...cpu, '--model', untrained, '--json']);
    assert.equal(t.total, 24, 'three records of 8 bytes after the first');
    assert.equal(t.accuracy, 1, `trained: ${t.matched} of ${t.total}`);
    assert.ok(u.accuracy <= t.accuracy - 0.5, `untrained ${u.accuracy} vs trained ${t.accuracy}`);
  });
});
