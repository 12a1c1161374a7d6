import type { Command } from 'commander';
import { TOPICS } from '../../data/media/synthetic-text.js';
import { textSet } from '../../tasks/data/demo-sets.js';
import { perClass, seedOf } from './common.js';

export function registerText(data: Command): void {
  data
    .command('text')
    .description(`demo text: OUT/<topic>/<n>.txt news snippets for ${TOPICS.join(', ')}`)
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'snippets per topic', '100')
    .option('--seed <n>', 'random seed', '0')
    .action((o: { out: string; count: string; seed: string }) => {
      const n = perClass(o.count);
      textSet(o.out, { count: n, seed: seedOf(o.seed) });
      console.log(`wrote ${n * TOPICS.length} text files of ${TOPICS.length} topics to ${o.out}`);
    });
}
