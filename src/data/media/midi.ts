/**
 * MIDI files → notes (with the `midi-file` parser), and the comparison the ABC→MIDI demo reports: does a
 * converted file parse, and does it play the same notes as the reference (pitch, onset, duration in beats,
 * channel; velocities and meta events are not compared)?
 */
import { parseMidi, type MidiData } from 'midi-file';

export interface Note {
  pitch: number;
  channel: number;
  /** Onset and duration in beats (quarter notes), from the file's ticks per beat. */
  start: number;
  duration: number;
  velocity: number;
}

export interface MidiSummary {
  format: number;
  tracks: number;
  ticksPerBeat: number;
  notes: Note[];
}

/**
 * Parses a standard MIDI file; throws a one-line reason when it is not one. Stricter than the parser alone
 * (which reads past the end of a cut file without complaint): the header must be the 6-byte MThd chunk of
 * format 0, 1 or 2, every one of its tracks must be a whole MTrk chunk inside the file, and each track must
 * end with End of Track. Bytes after the last track are ignored, as players do.
 */
export function parseMidiFile(bytes: Uint8Array): MidiData {
  const tag = (off: number) => String.fromCharCode(bytes[off], bytes[off + 1], bytes[off + 2], bytes[off + 3]);
  if (bytes.length < 14 || tag(0) !== 'MThd') throw new Error('not a MIDI file (no "MThd" header)');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(4, true) !== 0x06000000) throw new Error('broken MIDI file (header chunk is not 6 bytes)');
  const format = v.getUint16(8), tracks = v.getUint16(10);
  if (format > 2) throw new Error(`broken MIDI file (format ${format})`);
  let off = 14;
  for (let t = 0; t < tracks; t++) {
    if (off + 8 > bytes.length || tag(off) !== 'MTrk') throw new Error(`broken MIDI file (track ${t + 1} of ${tracks} missing)`);
    const len = v.getUint32(off + 4);
    if (off + 8 + len > bytes.length) throw new Error(`broken MIDI file (track ${t + 1} runs past the end)`);
    off += 8 + len;
  }
  let m: MidiData;
  try {
    m = parseMidi(bytes);
  } catch (e) {
    throw new Error(`broken MIDI file (${(e as Error).message || String(e)})`);
  }
  m.tracks.forEach((tr, i) => {
    if (tr[tr.length - 1]?.type !== 'endOfTrack') throw new Error(`broken MIDI file (track ${i + 1} does not end with End of Track)`);
  });
  return m;
}

/** Every note of every track, sorted by onset, then pitch. A note-on with velocity 0 is a note-off. */
export function midiNotes(bytes: Uint8Array): MidiSummary {
  const m = parseMidiFile(bytes);
  const tpb = m.header.ticksPerBeat;
  if (!tpb) throw new Error('MIDI file with SMPTE time, not ticks per beat');
  const notes: Note[] = [];
  for (const track of m.tracks) {
    let t = 0;
    const open = new Map<number, { start: number; velocity: number }[]>();
    for (const e of track) {
      t += e.deltaTime;
      if (e.type !== 'noteOn' && e.type !== 'noteOff') continue;
      const key = e.channel * 128 + e.noteNumber;
      if (e.type === 'noteOn' && e.velocity > 0) {
        if (!open.has(key)) open.set(key, []);
        open.get(key)!.push({ start: t, velocity: e.velocity });
      } else {
        const on = open.get(key)?.shift();
        if (on) notes.push({ pitch: e.noteNumber, channel: e.channel, start: on.start / tpb, duration: (t - on.start) / tpb, velocity: on.velocity });
      }
    }
    // notes never switched off last to the end of their track
    for (const [key, ons] of open) for (const on of ons) notes.push({ pitch: key % 128, channel: Math.floor(key / 128), start: on.start / tpb, duration: (t - on.start) / tpb, velocity: on.velocity });
  }
  notes.sort((a, b) => a.start - b.start || a.pitch - b.pitch || a.channel - b.channel);
  return { format: m.header.format, tracks: m.tracks.length, ticksPerBeat: tpb, notes };
}

const noteKey = (n: Note) => `${n.channel}:${n.pitch}:${n.start.toFixed(4)}:${n.duration.toFixed(4)}`;

export interface NoteMatch {
  /** Notes found in both (as a multiset of pitch, channel, onset, duration). */
  common: number;
  reference: number;
  candidate: number;
  /** 2·common / (reference + candidate): 1 when the notes are the same. */
  f1: number;
  /** Same notes, nothing more, nothing less. */
  exact: boolean;
}

export function compareNotes(reference: Note[], candidate: Note[]): NoteMatch {
  const count = new Map<string, number>();
  for (const n of reference) count.set(noteKey(n), (count.get(noteKey(n)) ?? 0) + 1);
  let common = 0;
  for (const n of candidate) {
    const k = noteKey(n), c = count.get(k) ?? 0;
    if (c > 0) {
      common++;
      count.set(k, c - 1);
    }
  }
  const total = reference.length + candidate.length;
  return { common, reference: reference.length, candidate: candidate.length, f1: total ? (2 * common) / total : 1, exact: common === reference.length && common === candidate.length };
}

/**
 * Rewrites the chunk lengths of a MIDI file from its events: each MTrk chunk is taken to run to its End of
 * Track event (FF 2F 00), and the header's track count to the tracks found. A generated file is often right
 * in everything but these counts, which must be known before the bytes they count. Returns null when the file
 * does not start with a MThd chunk or no track can be read to its end.
 */
export function repairMidi(bytes: Uint8Array): Uint8Array | null {
  const tag = (off: number) => String.fromCharCode(bytes[off], bytes[off + 1], bytes[off + 2], bytes[off + 3]);
  if (bytes.length < 14 || tag(0) !== 'MThd') return null;
  const tracks: Uint8Array[] = [];
  let off = 14;
  while (off + 8 <= bytes.length && tag(off) === 'MTrk') {
    const end = trackEnd(bytes, off + 8);
    if (end < 0) break;
    tracks.push(bytes.subarray(off + 8, end));
    off = end;
  }
  if (!tracks.length) return null;
  const out = new Uint8Array(14 + tracks.reduce((a, t) => a + 8 + t.length, 0));
  const v = new DataView(out.buffer);
  out.set(bytes.subarray(0, 14));
  v.setUint32(4, 6);
  v.setUint16(10, tracks.length);
  let at = 14;
  for (const t of tracks) {
    out.set([0x4d, 0x54, 0x72, 0x6b], at); // MTrk
    v.setUint32(at + 4, t.length);
    out.set(t, at + 8);
    at += 8 + t.length;
  }
  return out;
}

/** Where the event stream starting at `i` ends (just after its End of Track), or −1 when it does not. */
function trackEnd(b: Uint8Array, i: number): number {
  let running = 0;
  const varint = (): number => {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      if (i >= b.length) return -1;
      const x = b[i++];
      v = (v << 7) | (x & 0x7f);
      if (!(x & 0x80)) return v;
    }
    return -1;
  };
  while (i < b.length) {
    if (varint() < 0 || i >= b.length) return -1; // delta time
    let status = b[i];
    if (status & 0x80) i++;
    else if (running) status = running; // running status: this byte is already data
    else return -1;
    if (status === 0xff) {
      const type = b[i++], len = varint();
      if (len < 0 || i + len > b.length) return -1;
      i += len;
      if (type === 0x2f) return i;
    } else if (status === 0xf0 || status === 0xf7) {
      const len = varint();
      if (len < 0 || i + len > b.length) return -1;
      i += len;
    } else if (status >= 0x80 && status < 0xf0) {
      running = status;
      i += (status & 0xf0) === 0xc0 || (status & 0xf0) === 0xd0 ? 1 : 2;
    } else return -1;
  }
  return -1;
}
