/**
 * Synthesized sounds for the audio-classification demo when no speech synthesizer is installed: five kinds of
 * sound with random pitch, length, onset, loudness and background noise, at 22.05 kHz (so that the
 * conversion to 8 kHz has real resampling to do).
 */
import type { Rng } from '../../util/rng.js';

export const SOUNDS = ['rising', 'falling', 'beeps', 'vibrato', 'noise'] as const;
export type Sound = (typeof SOUNDS)[number];
export const SOUND_RATE = 22050;

/** One second (plus a little) of `kind`, as samples in [-1, 1] at SOUND_RATE. */
export function synthSound(rng: Rng, kind: Sound): Float32Array {
  const sr = SOUND_RATE, n = Math.round(1.1 * sr), out = new Float32Array(n);
  const onset = 0.05 + 0.25 * rng.next(), dur = 0.3 + 0.4 * rng.next(), amp = 0.3 + 0.5 * rng.next();
  const f0 = 200 * 2 ** (3 * rng.next()); // 200 Hz … 1.6 kHz
  const a = Math.round(onset * sr), b = Math.min(n, Math.round((onset + dur) * sr));
  let phase = 0;
  const beeps = 2 + rng.int(3), noiseLevel = 0.01 + 0.02 * rng.next();
  let lp = 0;
  for (let i = a; i < b; i++) {
    const t = (i - a) / sr, u = t / dur;
    // 10 ms fades at both ends so that no sound starts with a click
    const env = Math.min(1, t / 0.01, (dur - t) / 0.01);
    let f = f0, on = 1, s: number;
    if (kind === 'rising') f = f0 * 2 ** (1.5 * u);
    else if (kind === 'falling') f = f0 * 2 ** (-1.5 * u);
    else if (kind === 'vibrato') f = f0 * (1 + 0.06 * Math.sin(2 * Math.PI * 6 * t));
    else if (kind === 'beeps') on = Math.floor(u * (2 * beeps - 1)) % 2 === 0 ? 1 : 0;
    phase += (2 * Math.PI * f) / sr;
    if (kind === 'noise') {
      lp += 0.3 * (rng.normal() - lp); // softly low-passed noise
      s = 1.5 * lp;
    } else s = Math.sin(phase) + 0.3 * Math.sin(2 * phase);
    out[i] = amp * env * on * s * 0.75;
  }
  for (let i = 0; i < n; i++) out[i] = Math.max(-1, Math.min(1, out[i] + noiseLevel * rng.normal()));
  return out;
}
