/** Rewriting the headers of generated BMP / WAV files so that viewers and players open them. */
import { join } from 'node:path';
import { extensionOf } from '../../data/patches.js';
import { repairMedia } from '../../data/media/repair.js';
import { readInput } from '../eval.js';
import { inputsOf, writeOut } from './batch.js';

/** Repairs in place, or writes every BMP / WAV (repaired or not) below `out`; other files are left alone. */
export function repairFiles(files: string[], out?: string): { fixed: number; ok: number; skipped: number } {
  let fixed = 0, ok = 0, skipped = 0;
  for (const input of inputsOf(files)) {
    const r = repairMedia(readInput(input.path), extensionOf(input.path));
    if (!r) {
      skipped++;
      continue;
    }
    if (r.changed) fixed++;
    else ok++;
    if (r.changed || out) writeOut(out ? join(out, input.rel) : input.path, r.bytes);
  }
  return { fixed, ok, skipped };
}
