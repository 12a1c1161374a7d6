import type { Command } from 'commander';
import { WORDS } from '../../data/media/synthetic-speech.js';
import { speechSet } from '../../tasks/data/demo-sets.js';
import { progressLine } from '../progress.js';
import { perClass, seedOf } from './common.js';

export function registerSpeech(data: Command): void {
  data
    .command('speech')
    .description('demo audio: OUT/<word>/<n>.wav spoken by espeak-ng (apt-get install espeak-ng) in random voices')
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'recordings per word', '100')
    .option('--words <list>', 'comma-separated words', WORDS.join(','))
    .option('--seed <n>', 'random seed', '0')
    .action((o: { out: string; count: string; words: string; seed: string }) => {
      const n = perClass(o.count), seed = seedOf(o.seed);
      const words = o.words.split(',').map((w) => w.trim()).filter(Boolean);
      if (!words.length) throw new Error('--words is empty');
      for (const w of words) if (!/^[a-z][a-z' -]*$/i.test(w)) throw new Error(`--words: "${w}" is not a plain word`);
      speechSet(o.out, words, { count: n, seed }, progressLine('speech'));
      console.log(`wrote ${n * words.length} spoken words (${words.join(', ')}) to ${o.out}`);
    });
}
