/** `bgpt classify`: label probabilities of files under a classification model. */
import type { Command } from 'commander';
import { listFiles } from '../data/files.js';
import { classify, topLabels } from '../api/classify.js';
import { extensionOf } from '../data/patches.js';
import { readInput } from '../tasks/eval.js';
import { addPrecisionOption, loadModel, num, precisionOf } from './options.js';

export function registerClassify(program: Command): void {
  addPrecisionOption(program
    .command('classify')
    .description('classify files: the most probable labels with their probabilities')
    .requiredOption('-m, --model <weights>', 'classification model: .safetensors, original .pth or bgpt checkpoint')
    .option('--top <k>', 'labels to show per file', '3')
    .option('--json', 'print one JSON object {files:[{path, top:[{label, prob}]}]}')
    .argument('<paths...>', 'files or folders'))
    .action((paths: string[], opts: { precision?: string; model: string; top: string; json?: boolean }) => {
      const top = num('--top', opts.top, { int: true, min: 1 }), precision = precisionOf(opts.precision);
      const paths_ = listFiles(paths), files = paths_.map((path) => ({ bytes: readInput(path), ext: extensionOf(path) }));
      const m = loadModel(opts.model, precision);
      if (m.kind !== 'classification') throw new Error(`${opts.model}: a generative model; classify needs a classification one`);
      const labels = m.task.labels;
      const r = classify(m.model, labels, files).map((c, i) => ({ path: paths_[i], top: topLabels(c, labels, top) }));
      if (opts.json) {
        console.log(JSON.stringify({ files: r }));
        return;
      }
      for (const f of r) console.log(`${f.path}\t${f.top.map((t) => `${t.label} ${(t.prob * 100).toFixed(1)}%`).join('\t')}`);
    });
}
