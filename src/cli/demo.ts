/** `bgpt demo`: train a tiny model on generated log files and show that it learns. */
import type { Command } from 'commander';
import { getKernels } from '../backend/index.js';
import { runDemo } from '../tasks/demo.js';
import { progressLine } from './progress.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('train a tiny bGPT on generated log files for a minute and score held-out files')
    .option('--out <dir>', 'folder for the corpus and the trained model', 'bgpt-demo')
    .option('--seconds <s>', 'training time budget', '60')
    .option('--seed <n>', 'random seed', '1')
    .option('--sample <k>', 'patch sampling: predict k patches per step (0 = all; default all, 24 on the ts backend)')
    .action((opts: { out: string; seconds: string; seed: string; sample?: string }) => {
      const seconds = Number(opts.seconds), seed = Number(opts.seed);
      const k = getKernels();
      // the TypeScript backend is ~100x slower: sampling patches keeps the demo's minute useful there
      const sample = opts.sample !== undefined ? Number(opts.sample) : k.name === 'ts' ? 24 : 0;
      if (!Number.isInteger(sample) || sample < 0) throw new Error('--sample must be a whole number ≥ 0');
      if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
      if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
      const progress = progressLine('training');
      const r = runDemo(k, {
        out: opts.out, seconds, seed, trainFiles: 600, evalFiles: 40, sample,
        log: (l) => {
          progress.done();
          console.log(l);
        },
        progress: (t) => progress.update(t),
      });
      progress.done();
      console.log(`trained ${r.steps} steps: loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)} nats per byte`);
      console.log(`held-out files: ${r.evalBpb.toFixed(3)} bits per byte (unigram byte model ${r.unigramBpb.toFixed(3)}, raw bytes 8)`);
      console.log(`model written to ${r.modelPath}; score files with: npx bgpt eval --model ${r.modelPath} ${r.evalDir}`);
    });
}
