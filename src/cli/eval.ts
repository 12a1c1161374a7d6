/** `bgpt eval`: loss and bits per byte (generative, conversion) or accuracy (classification) of files. */
import type { Command } from 'commander';
import { conversionExamples, labelledExamples, parseConversion } from '../data/dataset.js';
import { listFiles } from '../data/files.js';
import { evaluateClassifier, evaluateFiles, evaluatePairs } from '../tasks/eval.js';
import { addPrecisionOption, labelNames, loadModel, precisionOf } from './options.js';
import { progressLine } from './progress.js';

const fmt = (x: number) => x.toFixed(4).padStart(8);

export function registerEval(program: Command): void {
  addPrecisionOption(program
    .command('eval')
    .description('score files: loss (nats per predicted byte) and bits per byte, or accuracy for a classifier')
    .requiredOption('-m, --model <weights>', 'model: .safetensors, original .pth or bgpt checkpoint')
    .option('--convert <mode>', 'score conversion pairs "a->b" / "a&b" on the target part (default: the checkpoint\'s mode)')
    .option('--labels-from-folders', 'classification: the first folder below each path is the label')
    .option('--whole', 'score whole files through overlapping windows of the context (default: the head of each file, as the paper)')
    .option('--json', 'print one JSON object')
    .argument('<paths...>', 'files or folders (searched recursively, hidden files skipped)'))
    .action((paths: string[], opts: { precision?: string; whole?: boolean; model: string; convert?: string; labelsFromFolders?: boolean; json?: boolean }) => {
      const precision = precisionOf(opts.precision);
      const files = listFiles(paths);
      const loaded = loadModel(opts.model, precision);
      const progress = progressLine('scoring');
      const onProgress = (d: number, t: number) => progress.update(`${d}/${t}`);
      if (opts.whole && (loaded.task === 'classification' || opts.convert)) throw new Error('--whole scores files under a generative model (not a classifier or conversion pairs)');
      if (loaded.task === 'classification') {
        const labels = labelNames(loaded);
        const ex = labelledExamples(paths, !!opts.labelsFromFolders, [...labels], true).examples.map((e) => ({ path: (e as { path: string }).path, label: (e as { label: number }).label }));
        const r = evaluateClassifier(loaded.model, ex, labels, onProgress);
        progress.done();
        if (opts.json) return console.log(JSON.stringify(r));
        for (const f of r.files) console.log(`${f.path}\t${f.label}\t→ ${f.predicted} (${(f.prob * 100).toFixed(1)}%)${f.label === f.predicted ? '' : '  ✗'}`);
        console.log(`accuracy ${(r.accuracy * 100).toFixed(2)}% (${r.files.length} files), loss ${r.loss.toFixed(4)}`);
        return;
      }
      const mode = opts.convert ?? (loaded.meta?.task.kind === 'conversion' ? loaded.meta.task.mode : undefined);
      const r = mode
        ? evaluatePairs(loaded.model, conversionExamples(paths, parseConversion(mode)).map((e) => e as { input: string; target: string }), onProgress)
        : evaluateFiles(loaded.model, files, { onProgress, whole: opts.whole });
      progress.done();
      if (opts.json) {
        console.log(JSON.stringify({ files: r.files.map(({ tokens: _t, ...f }) => f), loss: r.loss, bpb: r.bpb }));
        return;
      }
      const w = Math.min(60, Math.max(4, ...r.files.map((f) => f.path.length)));
      console.log(`${(mode ? `target (${mode})` : 'file').padEnd(w)}  ${'bytes'.padStart(10)}  ${'loss'.padStart(8)}  ${'bpb'.padStart(8)}`);
      for (const f of r.files) console.log(`${f.path.padEnd(w)}  ${String(f.bytes).padStart(10)}  ${fmt(f.loss)}  ${fmt(f.bpb)}`);
      console.log(`${`total (${r.files.length} files)`.padEnd(w)}  ${String(r.files.reduce((a, f) => a + f.bytes, 0)).padStart(10)}  ${fmt(r.loss)}  ${fmt(r.bpb)}`);
    });
}
