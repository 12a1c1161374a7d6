/** `bgpt demo`: train a tiny model on generated files for a minute and show that it learns. */
import type { Command } from 'commander';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getKernels } from '../backend/index.js';
import { runDemo } from '../tasks/demo.js';
import { num, taskFlag } from './options.js';
import { progressLine } from './progress.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('train a tiny bGPT on generated files for a minute: next-byte prediction on logs, or --task cls')
    .option('--task <task>', 'gen: predict structured log files; cls: tell log, CSV, JSON and config text apart', 'gen')
    .option('--out <dir>', 'folder for the corpus, the model and the training log', 'bgpt-demo')
    .option('--seconds <s>', 'training time budget', '60')
    .option('--seed <n>', 'random seed', '1')
    .option('--sample <k>', 'patch sampling: predict k patches per step (0 = all; default all, 24 on the ts backend)')
    .action(async (opts: { task: string; out: string; seconds: string; seed: string; sample?: string }) => {
      const task = taskFlag(opts.task);
      const seconds = num('--seconds', opts.seconds, { min: 1 }), seed = num('--seed', opts.seed, { int: true, min: 0 });
      const k = getKernels();
      // the TypeScript backend is ~100x slower: sampling patches keeps the demo's minute useful there
      const sample = opts.sample !== undefined ? num('--sample', opts.sample, { int: true, min: 0 }) : k.name === 'ts' ? 24 : 0;
      console.log(`bgpt demo (${task === 'generative' ? 'next-byte prediction on generated log files' : 'classifying generated text files by kind'}), ${k.name} backend, ${k.threads()} thread(s)${sample ? `, ${sample} patches sampled per step` : ''}; ${seconds} s of training`);
      const progress = progressLine('training');
      // the training log, as `bgpt train` writes it (for `bgpt plot`)
      const logPath = join(opts.out, 'model.safetensors.log.jsonl');
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(logPath, '');
      let lastLog = 0;
      const r = await runDemo(k, {
        task, out: opts.out, seconds, seed, sample,
        hooks: {
          log: (rec) => {
            appendFileSync(logPath, `${JSON.stringify(rec)}\n`);
            if (rec.type === 'step' && rec.elapsed_s - lastLog >= 10) {
              lastLog = rec.elapsed_s;
              progress.done();
              console.log(`  ${rec.elapsed_s.toFixed(0).padStart(3)} s  step ${String(rec.step).padStart(5)}  loss ${rec.loss.toFixed(3)}${rec.accuracy !== undefined ? `  batch accuracy ${(rec.accuracy * 100).toFixed(0)}%` : `  (${(rec.loss / Math.LN2).toFixed(2)} bits/byte)`}`);
            }
          },
          progress: (p) => progress.update(`step ${p.step}  loss ${p.loss.toFixed(3)}  ${Math.round(p.bytesPerS)} bytes/s`),
        },
      });
      progress.done();
      console.log(`trained ${r.steps} steps: loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}`);
      if (r.task === 'generative') {
        console.log(`held-out files: ${r.evalBpb.toFixed(3)} bits per byte (unigram byte model ${r.unigramBpb.toFixed(3)}, raw bytes 8)`);
        console.log(`model: ${r.modelPath}; score files with: npx bgpt eval --model ${r.modelPath} ${r.evalDir}`);
      } else {
        console.log(`held-out accuracy: ${(r.accuracy * 100).toFixed(1)}% over ${r.labels.length} classes (${r.labels.join(', ')}; chance ${(100 / r.labels.length).toFixed(0)}%)`);
        console.log(`model: ${r.modelPath}; classify files with: npx bgpt classify --model ${r.modelPath} ${r.evalDir}`);
      }
      console.log(`training log: ${logPath}; draw it with: npx bgpt plot ${logPath}`);
    });
}
