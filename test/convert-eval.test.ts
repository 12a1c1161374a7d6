/** `bgpt eval` on conversion models: loss per part (source, target) and the greedy outputs scored as MIDI. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/ts/kernels.js';
import { conversionExamples, examplePatches, FileReader, parseConversion } from '../src/data/dataset.js';
import { saveWeights } from '../src/io/weights.js';
import { BgptModel } from '../src/model/bgpt.js';
import { evaluatePairs } from '../src/tasks/eval.js';
import { Rng } from '../src/util/rng.js';
import { bgpt, tmp } from './cli-run.js';

describe('bgpt eval on a conversion model', () => {
  const d = tmp('conv-eval');
  const setup = () => {
    assert.equal(bgpt('data', 'tunes', '--out', join(d, 'book.abc'), '--count', '3', '--seed', '1').code, 0);
    assert.equal(bgpt('data', 'abc2midi', join(d, 'book.abc'), '--out', join(d, 'pairs')).code, 0);
    const m = new BgptModel(tsKernels, { patchSize: 16, patchLength: 96, hidden: 32, patchLayers: 1, byteLayers: 1, heads: 1 }, { rng: new Rng(5) });
    const w = join(d, 'm.safetensors');
    saveWeights(w, m.layout, m.params.data);
    return { m, w, pairs: conversionExamples([join(d, 'pairs')], parseConversion('abc->mid')) as { kind: 'pair'; input: string; target: string }[] };
  };
  const { m, w, pairs } = setup();

  it('splits the loss into the source part and the target part, which add up to the whole sequence', () => {
    const r = evaluatePairs(m, pairs);
    const reader = new FileReader();
    let sum = 0, tokens = 0;
    for (const p of pairs) {
      const e = examplePatches(p, reader, 16, 96, 'head')!;
      const N = e.patches.length / 16;
      const all = m.forward({ tokens: e.patches, masks: new Uint8Array(N).fill(1), B: 1, N }, { perSequence: true }).perSequence!;
      sum += all.sum[0];
      tokens += all.tokens[0];
      const f = r.files.find((x) => x.input === p.input)!;
      // the source part is every predicted patch up to and including the target's header patch
      assert.equal(f.source.tokens, 16 * e.targetStart);
      assert.equal(f.source.tokens + f.tokens, all.tokens[0]);
    }
    const partSum = r.source.loss * r.source.tokens + r.loss * r.files.reduce((a, f) => a + f.tokens, 0);
    assert.ok(Math.abs(partSum - sum) <= 1e-6 * Math.abs(sum), `${partSum} vs ${sum}`);
    assert.equal(r.source.tokens + r.files.reduce((a, f) => a + f.tokens, 0), tokens);
  });

  it('--json --generate: per-part figures and the shares of outputs that parse as MIDI and play the reference notes', () => {
    const r = bgpt('eval', '--model', w, '--convert', 'abc->mid', join(d, 'pairs'), '--json', '--generate', '2', '--max-bytes', '48');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.files.length, 3);
    for (const k of ['source', 'target'] as const) assert.ok(j[k].loss > 0 && Math.abs(j[k].bpb - j[k].loss / Math.LN2) < 1e-9, k);
    assert.equal(j.target.loss, j.loss);
    assert.ok(j.files.every((f: { source: { bpb: number } }) => f.source.bpb > 0));
    // an untrained model writes no MIDI file
    assert.deepEqual(j.outputs, {
      files: 2, bytes_equal: 0,
      midi: { files: 2, parses: 0, notes_match: 0, parses_after_repair: 0, notes_match_after_repair: 0, bytes_equal: 0, mean_note_f1: 0 },
    });
    const text = bgpt('eval', '--model', w, '--convert', 'abc->mid', join(d, 'pairs'), '--generate', '1', '--max-bytes', '16');
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /source part \(input, target header\): loss \d+\.\d{4}, \d+\.\d{4} bits per byte; target part: loss/);
    assert.match(text.out, /1 conversions \(greedy\): 0\.0% byte-identical to the reference; 0\.0% parse as MIDI/);
    const bad = bgpt('eval', '--model', w, join(d, 'pairs'), '--generate');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--generate scores conversions/);
  });
});
