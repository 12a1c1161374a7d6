/** `bgpt plot`: a training log (JSON lines) → an SVG of the loss curves (and accuracy). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { renderSvg, seriesFromLog } from '../tasks/plot.js';
import { writeFileAtomic } from '../util/atomic.js';

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('draw the train / eval loss (and accuracy) of a training log as an SVG')
    .argument('<log>', 'training log (JSON lines written by bgpt train)')
    .option('--out <file>', 'SVG to write (default: the log name with .svg)')
    .action((log: string, opts: { out?: string }) => {
      let text: string;
      try {
        text = readFileSync(log, 'utf8');
      } catch (e) {
        throw new Error(`${log}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
      const { series, accuracy } = seriesFromLog(text.split('\n'), log);
      const out = opts.out ?? `${log.replace(/\.jsonl?$/, '')}.svg`;
      writeFileAtomic(out, Buffer.from(renderSvg(`training: ${log}`, 'optimizer step', 'loss (nats per byte)', series, accuracy ? 'accuracy' : undefined)));
      console.log(`wrote ${out}`);
    });
}
