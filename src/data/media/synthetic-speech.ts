/**
 * Spoken words from Debian's espeak-ng for the audio-classification demo (a stand-in for Speech Commands):
 * each recording picks a voice and variant, speed and pitch at random, starts after a random pause and is
 * brought to a random loudness with a little background noise.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Rng } from '../../util/rng.js';
import { readWavInfo } from './wav.js';

/** The ten keywords of Speech Commands v2's standard task. */
export const WORDS = ['yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off', 'stop', 'go'];
const VOICES = ['en-gb', 'en-us', 'en-gb-scotland', 'en-gb-x-rp', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-029'];
const VARIANTS = ['', '+m1', '+m2', '+m3', '+m4', '+m5', '+m6', '+f1', '+f2', '+f3', '+f4'];

/** Whether espeak-ng can be run here (it is a Debian package: apt-get install espeak-ng). */
export function haveEspeak(): boolean {
  const r = spawnSync('espeak-ng', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** The parameters of one recording. */
export function speechParams(rng: Rng): { voice: string; speed: number; pitch: number; pause: number; level: number; noise: number } {
  return {
    voice: VOICES[rng.int(VOICES.length)] + VARIANTS[rng.int(VARIANTS.length)],
    speed: 120 + rng.int(100),
    pitch: 20 + rng.int(60),
    pause: 0.25 * rng.next(),
    level: 0.4 + 0.5 * rng.next(),
    noise: 0.003 + 0.01 * rng.next(),
  };
}

/**
 * Says `word` and returns a WAV file (espeak-ng's 22.05 kHz 16-bit mono) with the pause, loudness and noise
 * of `p` applied.
 */
export function speak(word: string, p: ReturnType<typeof speechParams>, rng: Rng): { samples: Float32Array; sampleRate: number } {
  const dir = mkdtempSync(join(tmpdir(), 'bgpt-espeak-'));
  try {
    const file = join(dir, 'w.wav');
    const r = spawnSync('espeak-ng', ['-v', p.voice, '-s', String(p.speed), '-p', String(p.pitch), '-w', file, word], { encoding: 'utf8' });
    if (r.error) throw new Error(`espeak-ng cannot be run (${r.error.message}); install it with apt-get install espeak-ng`);
    if (r.status !== 0) throw new Error(`espeak-ng failed for voice ${p.voice}: ${(r.stderr || '').trim().split('\n')[0]}`);
    const b = readFileSync(file);
    const info = readWavInfo(b);
    if (info.bits !== 16 || info.channels !== 1) throw new Error(`espeak-ng wrote a ${info.bits}-bit ${info.channels}-channel WAV, not 16-bit mono`);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const sampleRate = info.sampleRate, n = Math.floor(Math.min(info.dataBytes, b.length - info.dataOffset) / 2);
    let peak = 1e-9;
    const raw = new Float32Array(n);
    for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs((raw[i] = v.getInt16(info.dataOffset + 2 * i, true) / 32768)));
    const lead = Math.round(p.pause * sampleRate), samples = new Float32Array(lead + n);
    for (let i = 0; i < samples.length; i++) {
      const s = i >= lead ? (raw[i - lead] / peak) * p.level : 0;
      samples[i] = Math.max(-1, Math.min(1, s + p.noise * rng.normal()));
    }
    return { samples, sampleRate };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
