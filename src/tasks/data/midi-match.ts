/**
 * Converted MIDI files against the reference files of the same name: does each parse, does it play the
 * reference's notes (note F1), and the same after rewriting chunk lengths, the usual fault of a generated file.
 */
import { relative } from 'node:path';
import { walkFiles } from '../../data/files.js';
import { extensionOf } from '../../data/patches.js';
import { compareNotes, midiNotes, repairMidi, type Note } from '../../data/media/midi.js';
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

/** One converted file against its reference's notes (`file` names it in the row). */
export function matchMidi(file: string, bytes: Uint8Array, reference: Note[], referenceBytes?: Uint8Array): MidiMatchRow {
  const row: MidiMatchRow = { file, parses: false, repaired: false, exact: false, bytesEqual: !!referenceBytes && Buffer.compare(bytes, referenceBytes) === 0, f1: 0, error: undefined };
  try {
    const m = compareNotes(reference, midiNotes(bytes).notes);
    Object.assign(row, { parses: true, exact: m.exact, f1: m.f1 });
  } catch (e) {
    row.error = (e as Error).message;
    const fixed = repairMidi(bytes);
    try {
      if (fixed) Object.assign(row, { repaired: true, f1: compareNotes(reference, midiNotes(fixed).notes).f1 });
    } catch {
      // not even with lengths rewritten
    }
  }
  return row;
}

/** Shares of the rows (at least one) that parse, play the reference notes, … */
export function summarizeMidi(rows: MidiMatchRow[]): MidiMatchSummary {
  const share = (p: (r: MidiMatchRow) => boolean) => rows.filter(p).length / rows.length;
  return {
    files: rows.length,
    parses: share((r) => r.parses),
    notes_match: share((r) => r.exact),
    parses_after_repair: share((r) => r.parses || r.repaired),
    notes_match_after_repair: share((r) => r.exact || (r.repaired && r.f1 === 1)),
    bytes_equal: share((r) => r.bytesEqual),
    mean_note_f1: rows.reduce((a, r) => a + r.f1, 0) / rows.length,
  };
}

/** A reference file's notes; a reference that does not parse is an error naming it. */
export function referenceNotes(path: string, bytes: Uint8Array): Note[] {
  try {
    return midiNotes(bytes).notes;
  } catch (e) {
    throw new Error(`${path}: reference ${(e as Error).message}`);
  }
}

export function midiMatch(converted: string, reference: string): { summary: MidiMatchSummary; rows: MidiMatchRow[] } {
  const refs = new Map<string, string>();
  for (const f of walkFiles([reference])) if (extensionOf(f) === 'mid') refs.set(relative(reference, f), f);
  const rows: MidiMatchRow[] = [];
  for (const f of walkFiles([converted])) {
    if (extensionOf(f) !== 'mid') continue;
    const ref = refs.get(relative(converted, f));
    if (!ref) continue;
    const b = readInput(ref);
    rows.push(matchMidi(f, readInput(f), referenceNotes(ref, b), b));
  }
  if (rows.length === 0) throw new Error(`${converted}: no .mid files with a reference of the same name in ${reference}`);
  return { summary: summarizeMidi(rows), rows };
}
