/**
 * Preparing files as the paper's experiments did: images → size×size 24-bit BMP, audio → fixed-length mono
 * PCM WAV, ABC tunes → ABC + MIDI pairs for conversion training. The folder structure is kept below `out`.
 */
import { join } from 'node:path';
import { abcToMidi, abcWarnings, splitTunes } from '../../data/media/abc.js';
import { convertAudio, type AudioTarget } from '../../data/media/audio.js';
import { convertImage, type Fit } from '../../data/media/image.js';
import { convertEach, inputsOf, stemOf, withExt, type BatchHooks, type BatchResult } from './batch.js';

export async function imageFiles(inputs: string[], o: { out: string; size: number; fit: Fit; skipErrors: boolean }, hooks: BatchHooks): Promise<BatchResult> {
  return convertEach(inputsOf(inputs), o.skipErrors, hooks, async (bytes, input) => [
    { path: join(o.out, withExt(input.rel, 'bmp')), bytes: await convertImage(bytes, o.size, o.fit) },
  ]);
}

export async function audioFiles(inputs: string[], o: { out: string; target: AudioTarget; skipErrors: boolean }, hooks: BatchHooks): Promise<BatchResult> {
  return convertEach(inputsOf(inputs), o.skipErrors, hooks, async (bytes, input) => [
    { path: join(o.out, withExt(input.rel, 'wav')), bytes: await convertAudio(bytes, o.target) },
  ]);
}

export interface AbcResult extends BatchResult {
  /** Pairs written, tunes with ABC warnings (converted anyway), tunes that could not be converted. */
  tunes: number;
  warned: number;
  bad: number;
}

/** One NAME.abc + NAME.mid pair per tune (NAME-X when a file holds several tunes). */
export async function abcPairs(inputs: string[], o: { out: string; skipErrors: boolean }, hooks: BatchHooks): Promise<AbcResult> {
  let tunes = 0, warned = 0, bad = 0;
  const r = await convertEach(inputsOf(inputs), o.skipErrors, hooks, async (bytes, input) => {
    const all = splitTunes(Buffer.from(bytes).toString('utf8'));
    if (all.length === 0) throw new Error('no ABC tunes in it');
    const stem = stemOf(input.rel), used = new Set<string>();
    const outs: { path: string; bytes: Uint8Array }[] = [];
    all.forEach((t, i) => {
      // one pair per tune: NAME-X by the tune's X: number (its position when X is missing or repeats)
      const suffix = /^\w+$/.test(t.x) && !used.has(t.x) ? t.x : String(i + 1);
      used.add(suffix);
      const name = join(o.out, all.length === 1 ? stem : `${stem}-${suffix}`);
      let midi;
      try {
        midi = abcToMidi(t.abc);
      } catch (e) {
        const msg = `tune ${i + 1}${t.title ? ` ("${t.title}")` : ''}: ${(e as Error).message}`;
        if (!o.skipErrors) throw new Error(msg);
        hooks.warn(`skipping ${input.path}: ${msg}`);
        bad++;
        return;
      }
      if (abcWarnings(t.abc).length) warned++;
      outs.push({ path: `${name}.abc`, bytes: Buffer.from(t.abc, 'utf8') }, { path: `${name}.mid`, bytes: midi });
      tunes++;
    });
    return outs;
  });
  return { ...r, tunes, warned, bad };
}
