/**
 * Converted MIDI files against the reference files of the same name: does each parse, does it play the
 * reference's notes (note F1), and the same after rewriting chunk lengths, the usual fault of a generated file.
 */
import { relative } from 'node:path';
import { walkFiles } from '../../data/files.js';
import { extensionOf } from '../../data/patches.js';
import { compareNotes, midiNotes, repairMidi } from '../../data/media/midi.js';
import { readInput } from '../eval.js';

export interface MidiMatchRow {
  file: string;
  parses: boolean;
  repaired: boolean;
  exact: boolean;
  bytesEqual: boolean;
  f1: number;
  error?: string;
}

export interface MidiMatchSummary {
  files: number;
  parses: number;
  notes_match: number;
  parses_after_repair: number;
  notes_match_after_repair: number;
  bytes_equal: number;
  mean_note_f1: number;
}

export function midiMatch(converted: string, reference: string): { summary: MidiMatchSummary; rows: MidiMatchRow[] } {
  const refs = new Map<string, string>();
  for (const f of walkFiles([reference])) if (extensionOf(f) === 'mid') refs.set(relative(reference, f), f);
  const rows: MidiMatchRow[] = [];
  for (const f of walkFiles([converted])) {
    if (extensionOf(f) !== 'mid') continue;
    const ref = refs.get(relative(converted, f));
    if (!ref) continue;
    const a = readInput(f), b = readInput(ref);
    let want;
    try {
      want = midiNotes(b).notes;
    } catch (e) {
      throw new Error(`${ref}: reference ${(e as Error).message}`);
    }
    const row: MidiMatchRow = { file: f, parses: false, repaired: false, exact: false, bytesEqual: Buffer.compare(a, b) === 0, f1: 0, error: undefined };
    try {
      const m = compareNotes(want, midiNotes(a).notes);
      Object.assign(row, { parses: true, exact: m.exact, f1: m.f1 });
    } catch (e) {
      row.error = (e as Error).message;
      const fixed = repairMidi(a);
      try {
        if (fixed) Object.assign(row, { repaired: true, f1: compareNotes(want, midiNotes(fixed).notes).f1 });
      } catch {
        // not even with lengths rewritten
      }
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new Error(`${converted}: no .mid files with a reference of the same name in ${reference}`);
  const share = (p: (r: MidiMatchRow) => boolean) => rows.filter(p).length / rows.length;
  const summary = {
    files: rows.length,
    parses: share((r) => r.parses),
    notes_match: share((r) => r.exact),
    parses_after_repair: share((r) => r.parses || r.repaired),
    notes_match_after_repair: share((r) => r.exact || (r.repaired && r.f1 === 1)),
    bytes_equal: share((r) => r.bytesEqual),
    mean_note_f1: rows.reduce((a, r) => a + r.f1, 0) / rows.length,
  };
  return { summary, rows };
}
