import type { Command } from 'commander';
import { DETECT_DEFAULTS, buildDetectSet } from '../../tasks/data/detect-set.js';
import { num } from '../options.js';
import { seedOf } from './common.js';

export function registerDetectSet(data: Command): void {
  data
    .command('detect-set')
    .description('the content-type detector\'s data from a corpus (bgpt data corpus): OUT/{train,heldout}/<label>/<file>, labels from the corpus rule, split by package (docs/detect.md)')
    .requiredOption('--corpus <dir>', 'a corpus made by bgpt data corpus')
    .requiredOption('--out <dir>', 'output folder (an earlier detect set there is replaced once the new one is complete)')
    .option('--min-train <n>', 'training files a type needs to be a label', String(DETECT_DEFAULTS.minTrain))
    .option('--max-train <n>', 'most training files of one label', String(DETECT_DEFAULTS.maxTrain))
    .option('--seed <n>', 'seed of the choice of training files', String(DETECT_DEFAULTS.seed))
    .action((o: { corpus: string; out: string; minTrain: string; maxTrain: string; seed: string }) => {
      const s = buildDetectSet({
        corpus: o.corpus, out: o.out, seed: seedOf(o.seed),
        minTrain: num('--min-train', o.minTrain, { int: true, min: 1 }), maxTrain: num('--max-train', o.maxTrain, { int: true, min: 1 }),
      });
      const n = (split: 'train' | 'heldout') => Object.values(s.counts).reduce((a, c) => a + c[split], 0);
      console.log(`wrote ${s.labels.length} labels to ${o.out}: ${n('train')} training files, ${n('heldout')} held out`);
      console.log(s.labels.map((l) => `${l} ${s.counts[l].train}/${s.counts[l].heldout}`).join(', '));
      const left = Object.entries(s.leftOut);
      if (left.length) console.log(`too few training files to be labels: ${left.map(([t, c]) => `${t} ${c.train}/${c.heldout}`).join(', ')}`);
    });
}
