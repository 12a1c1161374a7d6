import type { Command } from 'commander';
import { tuneBook } from '../../tasks/data/demo-sets.js';
import { num } from '../options.js';
import { perClass, seedOf } from './common.js';

export function registerTunes(data: Command): void {
  data
    .command('tunes')
    .description('demo music: one ABC file of generated folk-like tunes (reels, jigs, waltzes)')
    .requiredOption('--out <file.abc>', 'output file')
    .option('--count <n>', 'tunes', '100')
    .option('--bars <n>', 'bars per tune', '8')
    .option('--seed <n>', 'random seed', '0')
    .action((o: { out: string; count: string; bars: string; seed: string }) => {
      const n = perClass(o.count), bars = num('--bars', o.bars, { int: true, min: 1, max: 256 });
      tuneBook(o.out, { count: n, bars, seed: seedOf(o.seed) });
      console.log(`wrote ${n} tunes to ${o.out}`);
    });
}
