/** `bgpt bench detect DIR`: the detector against libmagic on labelled files (tasks/detect-bench.ts). */
import type { Command } from 'commander';
import { benchDetect, confusionPage } from '../tasks/detect-bench.js';
import { writeFileAtomic } from '../util/atomic.js';
import { detectorModel, num } from './options.js';

export function registerBenchDetect(bench: Command): void {
  bench
    .command('detect')
    .description('bgpt detect against libmagic (file --mime-type) on DIR/<label>/<files>: accuracy per label and files per second (JSON)')
    .argument('<dir>', 'labelled files, as bgpt data detect-set writes them (e.g. its heldout/)')
    .option('-m, --model <weights>', 'a detector instead of the shipped one')
    .option('--threshold <p>', 'as bgpt detect --threshold (default: its default)')
    .option('--html <file>', 'also write the confusion picture as a page')
    .action((dir: string, opts: { model?: string; threshold?: string; html?: string }) => {
      const m = detectorModel(opts.model);
      const threshold = opts.threshold === undefined ? undefined : num('--threshold', opts.threshold, { min: 0, max: 1 });
      const r = benchDetect(m.model, m.task.labels, dir, { threshold });
      if (opts.html) writeFileAtomic(opts.html, Buffer.from(confusionPage(r)));
      console.log(JSON.stringify(r));
    });
}
