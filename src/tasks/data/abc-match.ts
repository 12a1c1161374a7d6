/**
 * Converted ABC tunes (MIDI → ABC, the paper's reverse direction) against the MIDI file they were made from: does
 * abcjs read each as a tune with notes, does it without parser warnings, and does it play the source's notes (the
 * notes of the MIDI file abcjs writes from it: pitch, channel, onset, duration, as `midi-match` compares them).
 * The pairs' MIDI files were written by the same abcjs writer from the reference ABC, so the reference tune itself
 * scores exact.
 */
import { abcToMidi, abcWarnings } from '../../data/media/abc.js';
import { compareNotes, midiNotes, type Note } from '../../data/media/midi.js';

export interface AbcMatchRow {
  file: string;
  /** abcjs made a MIDI file with notes from it. */
  parses: boolean;
  /** …and its parser warned about nothing. */
  clean: boolean;
  exact: boolean;
  bytesEqual: boolean;
  f1: number;
  error?: string;
}

export interface AbcMatchSummary {
  files: number;
  parses: number;
  parses_clean: number;
  notes_match: number;
  bytes_equal: number;
  mean_note_f1: number;
}

/** One converted tune against the notes of its source MIDI file (`file` names it in the row). */
export function matchAbc(file: string, bytes: Uint8Array, source: Note[], referenceBytes?: Uint8Array): AbcMatchRow {
  const row: AbcMatchRow = { file, parses: false, clean: false, exact: false, bytesEqual: !!referenceBytes && Buffer.compare(bytes, referenceBytes) === 0, f1: 0 };
  const text = Buffer.from(bytes).toString('utf8');
  try {
    const m = compareNotes(source, midiNotes(abcToMidi(text)).notes);
    Object.assign(row, { parses: true, clean: abcWarnings(text).length === 0, exact: m.exact, f1: m.f1 });
  } catch (e) {
    row.error = (e as Error).message;
  }
  return row;
}

/** Shares of the rows (at least one) that parse, parse cleanly, play the source's notes, … */
export function summarizeAbc(rows: AbcMatchRow[]): AbcMatchSummary {
  const share = (p: (r: AbcMatchRow) => boolean) => rows.filter(p).length / rows.length;
  return {
    files: rows.length,
    parses: share((r) => r.parses),
    parses_clean: share((r) => r.clean),
    notes_match: share((r) => r.exact),
    bytes_equal: share((r) => r.bytesEqual),
    mean_note_f1: rows.reduce((a, r) => a + r.f1, 0) / rows.length,
  };
}
