/**
 * The project's PyTorch reference (python/bgpt_torch.py) against the fixture vectors, which came from another
 * PyTorch implementation: losses, logits, every gradient, the AdamW step, patch-level states, next-byte
 * probabilities and classifier logits (its `check`); and a bundle it makes is reproduced by our model.
 * Runs when /usr/bin/python3 has torch; skipped by name otherwise.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { readModelWeights } from '../src/io/weights.js';
import { BgptModel } from '../src/model/bgpt.js';
import { FIXTURES, batchOf, loadVectors, relErr, runPython, torchSkip, vectorSets } from './helpers.js';

const SCRIPT = join('python', 'bgpt_torch.py');

function lastJson(out: string): Record<string, unknown> {
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('PyTorch reference (python/bgpt_torch.py)', { skip: torchSkip() }, () => {
  for (const set of vectorSets) {
    it(`reproduces every number of ${set.name}`, () => {
      const r = runPython([SCRIPT, 'check', set.dir]);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const { errors, failed } = lastJson(r.stdout) as { errors: Record<string, number | boolean>; failed: string[] };
      assert.deepEqual(failed, []);
      assert.equal(errors.same_keys, true, 'state dict keys in the original order');
      assert.equal(errors.grads_count, readSafetensors(join(set.dir, 'grads.safetensors')).tensors.size);
    });
  }

  it('a bundle it makes (2 heads of 32, real files) is reproduced by our model', () => {
    const out = mkdtempSync(join(tmpdir(), 'bgpt-torch-vectors-'));
    const files = join(FIXTURES, 'vectors-mh', 'files');
    const r = runPython([SCRIPT, 'vectors', '--out', out, '--hidden', '64', '--heads', '2', '--patch-layers', '1', '--byte-layers', '2',
      '--patch-size', '3', '--patch-length', '6', '--seed', '5', '--files', join(files, 'NOTICE'), join(files, 'apache.txt')]);
    assert.equal(r.status, 0, r.stderr);
    const v = loadVectors(out);
    assert.equal(v.cases.length, 7);
    // a .pth does not say its head count (bGPT's is hidden/64): give it
    const w = readModelWeights(join(out, 'weights.pth'));
    const m = new BgptModel(tsKernels, { ...w.config, heads: v.config.n_head }, { params: w.params, grad: true });
    assert.equal(v.config.n_head, 2);
    for (const c of v.cases) {
      const l = m.forward(batchOf(c)).loss;
      assert.ok(Math.abs(l - c.loss) / c.loss <= 1e-6, `${c.name}: ${l} vs ${c.loss}`);
    }
    m.forward(batchOf(v.cases.find((c) => c.name === v.grads.case)!), { grad: true });
    m.backward();
    const ref = readSafetensors(join(out, 'grads.safetensors')).tensors;
    for (const s of m.layout.specs) {
      const e = relErr(m.layout.view(m.params.grad!, s.name), ref.get(s.name)!.data, 1e-10);
      assert.ok(e <= 1e-5, `${s.name}: ${e}`);
    }
  });
});
