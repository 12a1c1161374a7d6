/** `bgpt eval`: loss and bits per byte of files under a generative model. */
import type { Command } from 'commander';
import { getKernels } from '../backend/index.js';
import { listFiles } from '../data/files.js';
import { loadModelFile } from '../io/weights.js';
import { evaluateFiles } from '../tasks/eval.js';
import { progressLine } from './progress.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('score files: loss (nats per predicted byte) and bits per byte, per file and in total')
    .requiredOption('-m, --model <weights>', 'model weights (.safetensors)')
    .option('--json', 'print one JSON object {files:[{path,loss,bpb,bytes}], loss, bpb}')
    .argument('<paths...>', 'files or folders (searched recursively, hidden files skipped)')
    .action((paths: string[], opts: { model: string; json?: boolean }) => {
      const files = listFiles(paths);
      const loaded = loadModelFile(getKernels(), opts.model);
      if (loaded.task !== 'generative') throw new Error(`${opts.model}: a classification model; eval needs a generative one`);
      const progress = progressLine('scoring');
      const r = evaluateFiles(loaded.model, files, { onProgress: (d, t) => progress.update(`${d}/${t} files`) });
      progress.done();
      if (opts.json) {
        console.log(JSON.stringify({ files: r.files.map(({ path, loss, bpb, bytes }) => ({ path, loss, bpb, bytes })), loss: r.loss, bpb: r.bpb }));
        return;
      }
      const w = Math.min(60, Math.max(4, ...r.files.map((f) => f.path.length)));
      console.log(`${'file'.padEnd(w)}  ${'bytes'.padStart(10)}  ${'loss'.padStart(8)}  ${'bpb'.padStart(8)}`);
      for (const f of r.files) console.log(`${f.path.padEnd(w)}  ${String(f.bytes).padStart(10)}  ${f.loss.toFixed(4).padStart(8)}  ${f.bpb.toFixed(4).padStart(8)}`);
      console.log(`${`total (${r.files.length} files)`.padEnd(w)}  ${String(r.files.reduce((a, f) => a + f.bytes, 0)).padStart(10)}  ${r.loss.toFixed(4).padStart(8)}  ${r.bpb.toFixed(4).padStart(8)}`);
    });
}
