/**
 * The demo data sets: OUT/<class>/<n>.ext files of drawn pictures, synthesized sounds, spoken words and news
 * text, and one ABC file of generated tunes. Each is a pure function of its seed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodePng } from '../../data/media/image.js';
import { drawPattern, drawShape, PATTERNS, SHAPES, type Pattern, type Shape } from '../../data/media/synthetic-shapes.js';
import { SOUND_RATE, SOUNDS, synthSound } from '../../data/media/synthetic-sounds.js';
import { haveEspeak, speak, speechParams } from '../../data/media/synthetic-speech.js';
import { newsText, TOPICS } from '../../data/media/synthetic-text.js';
import { randomTunebook } from '../../data/media/synthetic-tunes.js';
import { encodeWav } from '../../data/media/wav.js';
import type { Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { writeOut } from './batch.js';

/** `count` PNG pictures per class; returns the classes. */
export async function shapeSet(out: string, o: { patterns: boolean; grey: boolean; count: number; size: number; seed: number }, progress: Progress): Promise<readonly string[]> {
  const rng = new Rng(o.seed);
  const classes: readonly string[] = o.patterns ? PATTERNS : SHAPES;
  const draw = (c: string) => (o.patterns ? drawPattern(rng, c as Pattern, o.size, o.grey) : drawShape(rng, c as Shape, o.size));
  for (let i = 0; i < o.count; i++) {
    for (const c of classes) writeOut(join(out, c, `${i + 1}.png`), await encodePng(draw(c)));
    progress.update(`${i + 1}/${o.count}`);
  }
  progress.done();
  return classes;
}

/** `count` 16-bit WAV recordings of each kind of sound. */
export function soundSet(out: string, o: { count: number; seed: number }): void {
  const rng = new Rng(o.seed);
  for (let i = 0; i < o.count; i++) for (const s of SOUNDS) writeOut(join(out, s, `${i + 1}.wav`), encodeWav(synthSound(rng, s), { sampleRate: SOUND_RATE, channels: 1, bits: 16 }));
}

/** `count` recordings of each word, spoken by espeak-ng in random voices. */
export function speechSet(out: string, words: string[], o: { count: number; seed: number }, progress: Progress): void {
  if (!haveEspeak()) throw new Error('espeak-ng is not installed (Debian: apt-get install espeak-ng); bgpt data sounds makes synthesized sounds instead');
  const rng = new Rng(o.seed);
  for (let i = 0; i < o.count; i++) {
    for (const w of words) {
      const s = speak(w, speechParams(rng), rng);
      writeOut(join(out, w.replace(/[^a-z]+/gi, '-'), `${i + 1}.wav`), encodeWav(s.samples, { sampleRate: s.sampleRate, channels: 1, bits: 16 }));
    }
    progress.update(`${i + 1}/${o.count}`);
  }
  progress.done();
}

/** `count` news snippets per topic. */
export function textSet(out: string, o: { count: number; seed: number }): void {
  const rng = new Rng(o.seed);
  for (let i = 0; i < o.count; i++) for (const t of TOPICS) writeOut(join(out, t, `${i + 1}.txt`), Buffer.from(newsText(rng, t)));
}

/** One ABC file of `count` tunes of `bars` bars. */
export function tuneBook(out: string, o: { count: number; bars: number; seed: number }): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, randomTunebook(new Rng(o.seed), o.count, { bars: o.bars }));
}
