import type { Command } from 'commander';
import { makeClasses } from '../../tasks/data/classes.js';
import { num } from '../options.js';
import { seedOf } from './common.js';

export function registerClasses(data: Command): void {
  data
    .command('classes')
    .description('a folder per class → LABEL_N.ext files (the names the classifier takes labels from)')
    .argument('<src>', 'folder with one subfolder per class')
    .requiredOption('--out <dir>', 'output folder (new or empty)')
    .option('--test-share <f>', 'put this share of each class in OUT/test, the rest in OUT/train (0 = all in OUT)', '0')
    .option('--seed <n>', 'random seed for the split', '0')
    .action((src: string, o: { out: string; testShare: string; seed: string }) => {
      const testShare = num('--test-share', o.testShare, { min: 0, max: 0.9 });
      const r = makeClasses(src, o.out, { testShare, seed: seedOf(o.seed) });
      console.log(`wrote ${r.plan.length} files of ${r.perClass.size} classes to ${o.out}${testShare ? ` (${r.test} in test/)` : ''}: ${[...r.perClass].map(([l, n]) => `${l} ${n}`).join(', ')}`);
      if (r.renamed.length) console.log(`class names with '_' or separators were changed: ${r.renamed.join(', ')}`);
    });
}
