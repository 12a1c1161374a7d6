import type { Command } from 'commander';
import { SOUNDS } from '../../data/media/synthetic-sounds.js';
import { soundSet } from '../../tasks/data/demo-sets.js';
import { perClass, seedOf } from './common.js';

export function registerSounds(data: Command): void {
  data
    .command('sounds')
    .description(`demo audio: OUT/<kind>/<n>.wav (22.05 kHz 16-bit) for ${SOUNDS.join(', ')}`)
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'recordings per class', '100')
    .option('--seed <n>', 'random seed', '0')
    .action((o: { out: string; count: string; seed: string }) => {
      const n = perClass(o.count);
      soundSet(o.out, { count: n, seed: seedOf(o.seed) });
      console.log(`wrote ${n * SOUNDS.length} WAV files of ${SOUNDS.length} kinds of sound to ${o.out}`);
    });
}
