/** What the `bgpt data` subcommands share: option parsers, the batch hooks, the summary line. */
import type { BatchHooks, BatchResult } from '../../tasks/data/batch.js';
import { num } from '../options.js';
import { progressLine } from '../progress.js';

/** The seed option, parsed. */
export const seedOf = (s: string) => num('--seed', s, { int: true, min: 0 });

/** The --count option of the demo data sets. */
export const perClass = (s: string) => num('--count', s, { int: true, min: 1 });

/** A progress line on stderr and warnings as `bgpt: …` lines. */
export function batchHooks(label: string): BatchHooks {
  return { progress: progressLine(label), warn: (msg) => process.stderr.write(`bgpt: ${msg}\n`) };
}

export function report(what: string, out: string, r: BatchResult): void {
  console.log(`wrote ${r.written} ${what} to ${out}${r.skipped ? ` (skipped ${r.skipped} input files)` : ''}`);
}
