/** `bgpt compress`, `bgpt decompress` and `bgpt bench compress`: lossless compression with a byte model. */
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { listFiles } from '../data/files.js';
import { SEGMENT_BYTES } from '../compress/codec.js';
import { benchCompress, exactModel, processFiles, totals, type FileResult } from '../tasks/compress.js';
import { DEFAULT_MODEL_NOTE, generativeModel, num } from './options.js';
import { progressLine } from './progress.js';

type Opts = { model?: string; out?: string; force?: boolean; json?: boolean; segment?: string };

const rate = (bytes: number, s: number) => `${Math.round(bytes / Math.max(s, 1e-9))} bytes/s`;

function run(mode: 'compress' | 'decompress', files: string[], opts: Opts): void {
  if (files.filter((f) => f === '-').length > 1) throw new Error('- (stdin) can be given once');
  const model = generativeModel(opts.model);
  if (opts.out) mkdirSync(opts.out, { recursive: true });
  const ex = exactModel(model);
  const progress = progressLine(mode === 'compress' ? 'compressing' : 'decompressing');
  const t0 = performance.now();
  const segmentBytes = opts.segment === undefined ? undefined : num('--segment', opts.segment, { int: true, min: 0 });
  const results = processFiles(ex, mode, files, {
    outDir: opts.out, force: opts.force, segmentBytes,
    onProgress: (f, d, t) => progress.update(`${f} ${t ? ((100 * d) / t).toFixed(1) : 100}% (${rate(d, (performance.now() - t0) / 1000)})`),
  });
  progress.done();
  // with '-' the data goes to stdout: the report then goes to stderr
  const say = files.includes('-') ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => console.log(s);
  if (opts.json) return say(JSON.stringify({ files: results, total: totals(results) }));
  const line = (r: FileResult) => `${r.input} → ${r.output}: ${r.bytes} bytes ⇄ ${r.compressed} (${r.bits_per_byte.toFixed(3)} bits per byte, ${rate(r.bytes, r.seconds)})`;
  if (files.includes('-') && !process.stderr.isTTY) return;
  for (const r of results) say(line(r));
  if (results.length > 1) {
    const t = totals(results);
    say(`total (${results.length} files): ${t.bytes} bytes ⇄ ${t.compressed} (${t.bits_per_byte.toFixed(3)} bits per byte)`);
  }
}

function common(c: Command): Command {
  return c
    .option('-m, --model <weights>', `generative model: .safetensors, original .pth or bgpt checkpoint, the same one for both directions ${DEFAULT_MODEL_NOTE}`)
    .option('--out <dir>', 'write the outputs into this folder (default: beside each input)')
    .option('-f, --force', 'replace existing output files')
    .option('--json', 'print one JSON object: per-file and total sizes and bits per byte');
}

export function registerCompress(program: Command): void {
  common(program.command('compress').description('compress files losslessly with a byte model: FILE → FILE.bgpz (- : stdin to stdout)'))
    .option('--segment <bytes>', `code a file longer than this many bytes in segments that decompress side by side (default ${SEGMENT_BYTES}; 0: one segment, a few per cent smaller, decoded in one lane)`)
    .argument('<files...>', 'files to compress')
    .action((files: string[], opts: Opts) => run('compress', files, opts));
  common(program.command('decompress').description('restore FILE.bgpz → FILE with the model it was compressed with (- : stdin to stdout)'))
    .argument('<files...>', '.bgpz files')
    .action((files: string[], opts: Opts) => run('decompress', files, opts));

  const bench = program.commands.find((c) => c.name() === 'bench');
  if (!bench) throw new Error('registerCompress must follow registerBench');
  bench
    .command('compress')
    .description('sizes and speeds of bgpt against gzip, brotli, xz and zstd, each file compressed alone')
    .option('-m, --model <weights>', `generative model ${DEFAULT_MODEL_NOTE}`)
    .option('--by-folder', 'also total each first-level folder below a given path (e.g. a corpus\'s type groups)')
    .option('--verify-every <n>', 'decode every n-th file\'s bgpt output to check it (decoding runs a forward step per byte)', '1')
    .option('--json', 'print one JSON object')
    .argument('<paths...>', 'files or folders (searched recursively, hidden files skipped)')
    .action((paths: string[], opts: { model?: string; byFolder?: boolean; verifyEvery: string; json?: boolean }) => {
      const verifyEvery = num('--verify-every', opts.verifyEvery, { int: true, min: 1 });
      const roots = paths.map((p) => resolve(p));
      const files = listFiles(paths);
      const groupOf = (f: string) => {
        const full = resolve(f), root = roots.find((r) => full.startsWith(`${r}/`));
        return root ? full.slice(root.length + 1).split('/')[0] : '.';
      };
      const ex = exactModel(generativeModel(opts.model));
      const progress = progressLine('benchmarking');
      let done = 0;
      const r = benchCompress(ex, files, { onFile: (f) => progress.update(`${++done}/${files.length} ${f}`), verifyEvery, groupOf: opts.byFolder ? groupOf : undefined });
      progress.done();
      if (opts.json) return console.log(JSON.stringify(r));
      const names = r.total.results.map((e) => e.name);
      const rows = opts.byFolder ? [...r.groups!, r.total] : [...r.files, r.total];
      const w = Math.min(40, Math.max(...rows.map((f) => f.file.length)));
      console.log(`${(opts.byFolder ? 'group' : 'file').padEnd(w)} ${'bytes'.padStart(10)} ${names.map((n) => n.padStart(15)).join('')}`);
      for (const f of rows) {
        console.log(`${f.file.padEnd(w)} ${String(f.bytes).padStart(10)} ${f.results.map((e) => `${e.compressed} ${e.bits_per_byte.toFixed(2)}`.padStart(15)).join('')}`);
      }
      console.log(`(compressed bytes, bits per byte; bgpt's output decoded and checked on ${r.verified} of ${r.files.length} files)`);
      for (const e of r.total.results) console.log(`${e.name.padEnd(13)} compress ${rate(r.total.bytes, r.total.bytes / e.compress_bytes_per_s)}, decompress ${e.decompress_bytes_per_s} bytes/s`);
      if (r.skipped.length) console.log(`skipped: ${r.skipped.join(', ')}`);
    });
}
