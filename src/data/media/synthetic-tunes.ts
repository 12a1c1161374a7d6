/**
 * A seeded generator of folk-like ABC tunes (reels in 4/4, jigs in 6/8, waltzes in 3/4) for the ABC→MIDI
 * demo: a mostly stepwise melody in a major or minor key, bars that always add up, a final long tonic.
 */
import type { Rng } from '../../util/rng.js';

const METERS = [
  { m: '4/4', bar: 8, beat: 2, durs: [1, 1, 1, 1, 2, 2, 3, 4] },
  { m: '6/8', bar: 6, beat: 3, durs: [1, 1, 1, 2, 3] },
  { m: '3/4', bar: 6, beat: 2, durs: [1, 1, 2, 2, 3, 4] },
];
// key → tonic as a diatonic step above middle C (C = 0 … B = 6)
const KEYS: [string, number][] = [['C', 0], ['G', 4], ['D', 1], ['F', 3], ['A', 5], ['Am', 5], ['Em', 2], ['Dm', 1]];
const TEMPI = [96, 108, 120, 132];
const WORDS = ['Morning', 'Star', 'Road', 'Green', 'Hills', 'Miller', 'River', 'Lark', 'Harbour', 'Kitchen', 'Silver', 'Fair', 'Old', 'New', 'Wind', 'Bridge'];

/** ABC letter for a diatonic step (0 = middle C 'C', 7 = 'c', 14 = "c'", −7 = "C,"). */
export function abcPitch(step: number): string {
  const letter = 'CDEFGAB'[((step % 7) + 7) % 7];
  const octave = Math.floor(step / 7);
  if (octave <= 0) return letter + ','.repeat(-octave);
  return letter.toLowerCase() + "'".repeat(octave - 1);
}

function lengthSuffix(d: number): string {
  return d === 1 ? '' : String(d);
}

export interface TuneOptions {
  /** Bars of melody (default 8). */
  bars?: number;
}

/** One tune with reference number `x`, deterministic in the rng's state. */
export function randomTune(rng: Rng, x: number, o: TuneOptions = {}): string {
  const bars = o.bars ?? 8;
  const meter = METERS[rng.int(METERS.length)];
  const [key, tonic] = KEYS[rng.int(KEYS.length)];
  const title = `The ${WORDS[rng.int(WORDS.length)]} ${WORDS[rng.int(WORDS.length)]}`;
  const lo = tonic - 3, hi = tonic + 11; // range around the tonic, from a fourth below to a twelfth above
  let step = tonic + 7 * rng.int(2);
  const out: string[] = [];
  for (let b = 0; b < bars; b++) {
    const last = b === bars - 1;
    let left = meter.bar, pos = 0, bar = '';
    while (left > 0) {
      let d = last && left <= 4 ? left : meter.durs[rng.int(meter.durs.length)];
      if (d > left) d = left;
      // a beat boundary between notes is written as a space (ABC beaming), as people write tunes
      if (pos > 0 && pos % meter.beat === 0) bar += ' ';
      if (last && d === left) step = tonic + 7 * Math.round((step - tonic) / 7); // end on the tonic
      else {
        const r = rng.next();
        const move = r < 0.3 ? 1 : r < 0.6 ? -1 : r < 0.72 ? 2 : r < 0.84 ? -2 : r < 0.9 ? 0 : r < 0.95 ? 4 : -4;
        step = Math.max(lo, Math.min(hi, step + move));
      }
      bar += rng.next() < 0.04 && !last ? `z${lengthSuffix(d)}` : `${abcPitch(step)}${lengthSuffix(d)}`;
      left -= d;
      pos += d;
    }
    out.push(bar);
  }
  // four bars to a line, as tunes are usually written
  const lines: string[] = [];
  for (let i = 0; i < out.length; i += 4) lines.push(`${out.slice(i, i + 4).join(' | ')}${i + 4 >= out.length ? ' |]' : ' |'}`);
  const q = meter.m === '6/8' ? `3/8=${TEMPI[rng.int(TEMPI.length)] - 24}` : `1/4=${TEMPI[rng.int(TEMPI.length)]}`;
  return [`X:${x}`, `T:${title}`, `M:${meter.m}`, 'L:1/8', `Q:${q}`, `K:${key}`, ...lines].join('\n') + '\n';
}

/** `count` tunes numbered from 1, separated by blank lines (one ABC file). */
export function randomTunebook(rng: Rng, count: number, o: TuneOptions = {}): string {
  const tunes: string[] = [];
  for (let i = 1; i <= count; i++) tunes.push(randomTune(rng, i, o));
  return tunes.join('\n');
}
