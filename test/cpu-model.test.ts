/** `bgpt cpu evaluate --model`: a model predicts each file's states from its memory and first record. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/ts/kernels.js';
import { saveWeights } from '../src/io/weights.js';
import { BgptModel } from '../src/model/bgpt.js';
import { Rng } from '../src/util/rng.js';
import { ROOT } from './helpers.js';

const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const bgpt = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('bgpt cpu evaluate --model', () => {
  it('scores a model’s predicted states (an untrained one is far from 100 %)', () => {
    const d = mkdtempSync(join(tmpdir(), 'bgpt-cpu-'));
    const gen = bgpt('cpu', 'generate', '--out', d, '--train', '1', '--test', '3', '--memory', '64', '--max-program', '4', '--seed', '2');
    assert.equal(gen.status, 0, gen.stderr);
    // 64 bytes of memory + up to 5 records of 16 bytes: 1 + 4 + 5 + 1 patches fit L = 16
    const m = new BgptModel(tsKernels, { patchSize: 16, patchLength: 16, hidden: 32, patchLayers: 1, byteLayers: 1, heads: 1 }, { rng: new Rng(1) });
    const w = join(d, 'm.safetensors');
    saveWeights(w, m.layout, m.params.data);
    const sim = JSON.parse(bgpt('cpu', 'evaluate', join(d, 'test'), '--memory', '64', '--json').stdout);
    assert.equal(sim.accuracy, 1);
    const r = bgpt('cpu', 'evaluate', join(d, 'test'), '--memory', '64', '--model', w, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.files, 3);
    assert.equal(j.total, sim.total);
    assert.ok(j.accuracy < 0.9, `accuracy ${j.accuracy}`);
    assert.ok(j.worst.length > 0);
  });
});
