/**
 * ABC notation → standard MIDI files with abcjs (its MIDI writer, the same one its players use), for the
 * paper's ABC↔MIDI conversion task: every tune of an ABC file becomes a pair `name.abc` + `name.mid`.
 */
import { createRequire } from 'node:module';
import { midiNotes } from './midi.js';

type Abcjs = typeof import('abcjs');
let abcjs: Abcjs | null = null;

function lib(): Abcjs {
  // loaded on first use (a large module); CommonJS, so through require
  abcjs ??= createRequire(import.meta.url)('abcjs') as Abcjs;
  return abcjs;
}

export interface AbcTune {
  /** The reference number of the `X:` field ('' when the text has none). */
  x: string;
  title: string;
  /** The tune's text, from its `X:` line to the blank line or next `X:` that ends it, ending in one newline. */
  abc: string;
}

/** The tunes of an ABC file (a text without any `X:` field counts as one tune). */
export function splitTunes(text: string): AbcTune[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const tunes: string[][] = [];
  let cur: string[] | null = null;
  for (const line of lines) {
    if (/^X:/.test(line)) tunes.push((cur = [line]));
    else if (cur) {
      if (line.trim() === '') cur = null; // a blank line ends a tune
      else cur.push(line);
    }
  }
  if (tunes.length === 0 && text.trim()) tunes.push(lines);
  return tunes
    .map((t) => {
      while (t.length && t[t.length - 1].trim() === '') t.pop();
      const field = (k: string) => t.find((l) => l.startsWith(`${k}:`))?.slice(2).trim() ?? '';
      return { x: field('X'), title: field('T'), abc: `${t.join('\n')}\n` };
    })
    .filter((t) => t.abc.trim());
}

/** abcjs's parser warnings for a tune, as plain text. */
export function abcWarnings(abc: string): string[] {
  const r = lib().parseOnly(abc);
  return (r[0]?.warnings ?? []).map((w) => w.replace(/<[^>]*>/g, ''));
}

/** One tune → a MIDI file (format 1, 480 ticks per beat). Throws when the tune has no notes. */
export function abcToMidi(abc: string): Uint8Array {
  let out: unknown;
  try {
    out = lib().synth.getMidiFile(abc, { midiOutputType: 'binary' });
  } catch (e) {
    throw new Error(`abcjs cannot convert it (${(e as Error).message || String(e)})`);
  }
  const file = Array.isArray(out) ? out[0] : out;
  if (!(file instanceof Uint8Array)) throw new Error('abcjs made no MIDI file');
  if (midiNotes(file).notes.length === 0) throw new Error('no notes');
  return file;
}
