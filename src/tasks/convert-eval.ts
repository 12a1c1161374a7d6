/**
 * Scoring a conversion model by its outputs: each input converted greedily (as `bgpt convert --top-k 1` does)
 * and compared with its reference target — byte-identical, and for MIDI targets whether the output parses and
 * plays the reference's notes, also after rewriting chunk lengths (the checks of `bgpt data midi-match`); for ABC
 * targets made from MIDI inputs whether abcjs reads the output and it plays the input's notes (abc-match.ts).
 */
import { extensionOf } from '../data/patches.js';
import type { BgptModel } from '../model/bgpt.js';
import { Rng } from '../util/rng.js';
import { matchMidi, referenceNotes, summarizeMidi, type MidiMatchRow, type MidiMatchSummary } from './data/midi-match.js';
import { matchAbc, summarizeAbc, type AbcMatchRow, type AbcMatchSummary } from './data/abc-match.js';
import { readInput } from './eval.js';
import { convertFile } from '../api/generate.js';

export interface ConversionOutputs {
  /** Pairs converted. */
  files: number;
  /** Share of outputs equal to their reference byte for byte. */
  bytes_equal: number;
  /** Only when every target is a MIDI file. */
  midi?: MidiMatchSummary;
  /** Only when every pair is MIDI → ABC. */
  abc?: AbcMatchSummary;
}

export function scoreConversions(
  model: BgptModel, pairs: { input: string; target: string }[], o: { maxBytes?: number; onProgress?: (done: number, total: number) => void } = {},
): ConversionOutputs {
  const rng = new Rng(0);
  const midi = pairs.length > 0 && pairs.every((p) => extensionOf(p.target) === 'mid');
  const abc = pairs.length > 0 && pairs.every((p) => extensionOf(p.target) === 'abc' && extensionOf(p.input) === 'mid');
  const rows: MidiMatchRow[] = [], abcRows: AbcMatchRow[] = [];
  let equal = 0;
  pairs.forEach((p, i) => {
    const ref = readInput(p.target);
    const input = readInput(p.input);
    const out = convertFile(model, input, extensionOf(p.input), extensionOf(p.target), { topK: 1, topP: 1, temperature: 1, rng, maxBytes: o.maxBytes }).bytes;
    if (Buffer.compare(out, ref) === 0) equal++;
    if (midi) rows.push(matchMidi(p.target, out, referenceNotes(p.target, ref), ref));
    if (abc) abcRows.push(matchAbc(p.target, out, referenceNotes(p.input, input), ref));
    o.onProgress?.(i + 1, pairs.length);
  });
  return {
    files: pairs.length, bytes_equal: pairs.length ? equal / pairs.length : 0,
    ...(midi ? { midi: summarizeMidi(rows) } : {}), ...(abc ? { abc: summarizeAbc(abcRows) } : {}),
  };
}
