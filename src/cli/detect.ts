/** `bgpt detect`: the content type of files from their bytes, with the shipped detector (docs/detect.md). */
import type { Command } from 'commander';
import { DEFAULT_THRESHOLD, GENERIC, detect } from '../api/detect.js';
import { listFiles, readDetectInput } from '../data/files.js';
import { printable } from '../util/text.js';
import { detectorModel, num } from './options.js';
import { progressLine } from './progress.js';

/** Files read and detected together: one padded forward per batch of the model, a bounded amount of memory. */
const CHUNK = 256;

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('the content type of each file from its first and last bytes (the shipped detector: bgpt detect --list names its types)')
    .option('-m, --model <weights>', 'a detector (classification model) instead of the shipped one')
    .option('--json', 'one JSON object per line: {"path","label","p","top":[{"label","p"}]}')
    .option('--threshold <p>', `below this probability answer ${GENERIC.text} (text) or ${GENERIC.binary}`, String(DEFAULT_THRESHOLD))
    .option('--top <k>', 'labels listed in top (with --json)', '3')
    .option('--list', 'print the detector\'s labels and exit')
    .argument('[paths...]', 'files or folders (searched recursively, hidden files skipped); - reads standard input')
    .action((paths: string[], opts: { model?: string; json?: boolean; threshold: string; top: string; list?: boolean }) => {
      const threshold = num('--threshold', opts.threshold, { min: 0, max: 1 }), top = num('--top', opts.top, { int: true, min: 1 });
      const m = detectorModel(opts.model), labels = m.task.labels;
      // the generic answers are labels too, where the model does not already have them
      if (opts.list) return console.log([...labels, ...[GENERIC.text, GENERIC.binary, GENERIC.empty].filter((g) => !labels.includes(g))].join('\n'));
      if (!paths.length) throw new Error('no paths given (a file, a folder, or - for standard input)');
      const files = paths.flatMap((p) => (p === '-' ? [p] : listFiles([p])));
      const progress = progressLine('detecting'), t0 = performance.now();
      let failed = 0;
      for (let at = 0; at < files.length; at += CHUNK) {
        const names: string[] = [], heads: Uint8Array[] = [];
        for (const f of files.slice(at, at + CHUNK)) {
          try {
            heads.push(readDetectInput(f, m.config, m.task.reads));
            names.push(f);
          } catch (e) {
            failed++;
            process.stderr.write(`bgpt: ${printable(f)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`);
          }
        }
        const rs = detect(m.model, labels, heads, { threshold, top });
        progress.done();
        rs.forEach((r, i) => console.log(opts.json ? JSON.stringify({ path: names[i], ...r }) : `${names[i]}: ${r.label} (${r.p.toFixed(2)})`));
        const done = Math.min(files.length, at + CHUNK);
        progress.update(`${done}/${files.length} files, ${Math.round(done / ((performance.now() - t0) / 1000))} files/s`);
      }
      progress.done();
      // each file that could not be read has had its line; the others their answers
      if (failed) process.exitCode = 1;
    });
}
