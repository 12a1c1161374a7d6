/** `bgpt eval` on conversion models: loss per part (source, target) and the greedy outputs scored as MIDI. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/ts/kernels.js';
import { conversionExamples, examplePatches, FileReader, parseConversion } from '../src/data/dataset.js';
import { saveWeights } from '../src/io/weights.js';
import { BgptModel } from '../src/model/bgpt.js';
import { midiNotes } from '../src/data/media/midi.js';
import { matchAbc, summarizeAbc } from '../src/tasks/data/abc-match.js';
import { evaluatePairs } from '../src/tasks/eval.js';
import { Rng } from '../src/util/rng.js';
import { bgpt, tmp } from './cli-run.js';

describe('MIDI → ABC outputs against the source MIDI', () => {
  const d = tmp('abc-match');
  assert.equal(bgpt('data', 'tunes', '--out', join(d, 'book.abc'), '--count', '6', '--seed', '4').code, 0);
  assert.equal(bgpt('data', 'abc2midi', join(d, 'book.abc'), '--out', join(d, 'pairs')).code, 0);
  const pairs = conversionExamples([join(d, 'pairs')], parseConversion('mid->abc')) as { kind: 'pair'; input: string; target: string }[];

  it('the reference tune plays its MIDI file exactly; a changed note, a wrong tune and garbage do not', () => {
    assert.equal(pairs.length, 6);
    const rows = pairs.map((p) => {
      const abc = readFileSync(p.target), notes = midiNotes(readFileSync(p.input)).notes;
      const self = matchAbc(p.target, abc, notes, abc);
      assert.deepEqual([self.parses, self.exact, self.bytesEqual, self.f1], [true, true, true, 1], p.target);
      // one note letter changed in the body (after the header lines)
      const text = abc.toString('utf8'), body = text.indexOf('\n', text.indexOf('K:')) + 1;
      const at = body + text.slice(body).search(/[A-Ga-g]/);
      const swapped = text.slice(0, at) + (text[at] === 'C' ? 'D' : 'C') + text.slice(at + 1);
      const changed = matchAbc(p.target, Buffer.from(swapped), notes);
      assert.deepEqual([changed.parses, changed.exact, changed.bytesEqual], [true, false, false], swapped);
      assert.ok(changed.f1 < 1 && changed.f1 > 0.5, `${changed.f1}`);
      return self;
    });
    const other = matchAbc('x', readFileSync(pairs[1].target), midiNotes(readFileSync(pairs[0].input)).notes);
    assert.equal(other.exact, false);
    const junk = matchAbc('x', Buffer.from([0x4d, 0x54, 0xff, 0x00, 0x01]), midiNotes(readFileSync(pairs[0].input)).notes);
    assert.deepEqual([junk.parses, junk.clean, junk.exact, junk.f1], [false, false, false, 0]);
    assert.ok(junk.error);
    const s = summarizeAbc([...rows, junk]);
    assert.deepEqual([s.files, s.parses, s.notes_match, s.bytes_equal], [7, 6 / 7, 6 / 7, 6 / 7]);
  });
});

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
    const rev = bgpt('eval', '--model', w, '--convert', 'mid->abc', join(d, 'pairs'), '--json', '--generate', '2', '--max-bytes', '32');
    assert.equal(rev.code, 0, rev.err);
    assert.deepEqual(JSON.parse(rev.out).outputs, {
      files: 2, bytes_equal: 0, abc: { files: 2, parses: 0, parses_clean: 0, notes_match: 0, bytes_equal: 0, mean_note_f1: 0 },
    });
    const bad = bgpt('eval', '--model', w, join(d, 'pairs'), '--generate');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--generate scores conversions/);
  });
});
