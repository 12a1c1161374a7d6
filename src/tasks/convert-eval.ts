/**
 * Scoring a conversion model by its outputs: each input converted greedily (as `bgpt convert --top-k 1` does)
 * and compared with its reference target — byte-identical, and for MIDI targets whether the output parses and
 * plays the reference's notes, also after rewriting chunk lengths (the checks of `bgpt data midi-match`).
 */
import { extensionOf } from '../data/patches.js';
import type { BgptModel } from '../model/bgpt.js';
import { Rng } from '../util/rng.js';
import { matchMidi, referenceNotes, summarizeMidi, type MidiMatchRow, type MidiMatchSummary } from './data/midi-match.js';
import { readInput } from './eval.js';
import { convertFile } from '../api/generate.js';

export interface ConversionOutputs {
  /** Pairs converted. */
  files: number;
  /** Share of outputs equal to their reference byte for byte. */
  bytes_equal: number;
  /** Only when every target is a MIDI file. */
  midi?: MidiMatchSummary;
}

export function scoreConversions(
  model: BgptModel, pairs: { input: string; target: string }[], o: { maxBytes?: number; onProgress?: (done: number, total: number) => void } = {},
): ConversionOutputs {
  const rng = new Rng(0);
  const midi = pairs.length > 0 && pairs.every((p) => extensionOf(p.target) === 'mid');
  const rows: MidiMatchRow[] = [];
  let equal = 0;
  pairs.forEach((p, i) => {
    const ref = readInput(p.target);
    const out = convertFile(model, readInput(p.input), extensionOf(p.input), extensionOf(p.target), { topK: 1, topP: 1, temperature: 1, rng, maxBytes: o.maxBytes }).bytes;
    if (Buffer.compare(out, ref) === 0) equal++;
    if (midi) rows.push(matchMidi(p.target, out, referenceNotes(p.target, ref), ref));
    o.onProgress?.(i + 1, pairs.length);
  });
  return { files: pairs.length, bytes_equal: pairs.length ? equal / pairs.length : 0, ...(midi ? { midi: summarizeMidi(rows) } : {}) };
}
