/** `bgpt generate` and `bgpt convert`: new files from a generative model, written atomically. */
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { repairMedia } from '../data/media/repair.js';
import { extensionOf } from '../data/patches.js';
import { continueMany, conversionPrompt, filePrompt, newFilePrompt, type Generated } from '../api/generate.js';
import { readInput } from '../tasks/eval.js';
import { Rng } from '../util/rng.js';
import { DEFAULT_MODEL_NOTE, addPrecisionOption, addSamplingOptions, generativeModel, num, precisionOf, samplingOf, type SamplingFlags } from './options.js';
import { progressLine } from './progress.js';

function rateReporter(label: string) {
  const progress = progressLine(label);
  let t0 = performance.now();
  return {
    start() {
      t0 = performance.now();
    },
    onByte: (n: number) => progress.update(`${n} bytes, ${Math.round(n / ((performance.now() - t0) / 1000 || 1e-9))} bytes/s`),
    done: () => progress.done(),
  };
}

function summary(path: string, g: Generated, seconds: number, repaired: boolean): Record<string, unknown> {
  return { path, bytes: g.bytes.length, stop: g.stop, seconds: +seconds.toFixed(3), bytes_per_s: Math.round(g.bytes.length / Math.max(seconds, 1e-9)), header_repaired: repaired };
}

/**
 * A generated BMP or WAV whose header sizes disagree with the bytes the model wrote would not open: the
 * sizes are rewritten to fit (pixels and samples stay as generated). Other types are written as generated.
 */
function openable(bytes: Uint8Array, ext: string): { bytes: Uint8Array; repaired: boolean } {
  const r = repairMedia(bytes, ext.toLowerCase());
  return r ? { bytes: r.bytes, repaired: r.changed } : { bytes, repaired: false };
}

export function registerGenerate(program: Command): void {
  addSamplingOptions(addPrecisionOption(
    program
      .command('generate')
      .description('generate new files of one type (or continue a prompt file)')
      .option('-m, --model <weights>', `generative model: .safetensors, original .pth or bgpt checkpoint ${DEFAULT_MODEL_NOTE}`)
      .option('--ext <ext>', 'extension of the files to generate (default: the prompt file\'s)')
      .option('-n, --count <n>', 'how many files', '1')
      .option('--max-bytes <b>', 'stop each file after this many new bytes')
      .option('--prompt <file>', 'continue this file instead of starting from nothing')
      .option('--prompt-bytes <k>', 'use only the first k bytes of the prompt file')
      .option('--slide', 'continue past the model\'s patch length with a sliding window (default: stop there)')
      .option('--out <dir>', 'output folder', 'generated')
      .option('--json', 'print one JSON object per file'),
  )).action((opts: SamplingFlags & { precision?: string; slide?: boolean; model?: string; ext?: string; count: string; maxBytes?: string; prompt?: string; promptBytes?: string; out: string; json?: boolean }) => {
    const s = samplingOf(opts);
    const count = num('--count', opts.count, { int: true, min: 1 });
    const maxBytes = opts.maxBytes === undefined ? undefined : num('--max-bytes', opts.maxBytes, { int: true, min: 1 });
    const promptBytes = opts.promptBytes === undefined ? undefined : num('--prompt-bytes', opts.promptBytes, { int: true, min: 0 });
    if (promptBytes !== undefined && !opts.prompt) throw new Error('--prompt-bytes needs --prompt');
    const prompt = opts.prompt ? readInput(opts.prompt) : null;
    const ext = opts.ext ?? (opts.prompt ? extensionOf(opts.prompt) : undefined);
    if (ext === undefined) throw new Error('--ext is required (the type of file to generate)');
    const model = generativeModel(opts.model, precisionOf(opts.precision));
    mkdirSync(opts.out, { recursive: true });
    // the files are decoded together as one batch; file i samples with its own generator (seed + i)
    const p = prompt ? filePrompt(model, prompt, ext, promptBytes, opts.slide) : newFilePrompt(model, ext);
    const rate = rateReporter(count > 1 ? `generating ${count} files` : 'generating');
    rate.start();
    const t0 = performance.now();
    const rngs = Array.from({ length: count }, (_, i) => new Rng(s.seed + i));
    const results = continueMany(model, Array.from({ length: count }, () => p), { ...s, rngs, maxBytes, slide: opts.slide, onByte: rate.onByte });
    rate.done();
    const seconds = (performance.now() - t0) / 1000;
    // a continuation is written whole: the prompt bytes it continued, then the new bytes
    const head = prompt ? prompt.subarray(0, Math.min(promptBytes ?? prompt.length, prompt.length)) : new Uint8Array(0);
    results.forEach((g, i) => {
      const path = join(opts.out, `${i}${ext ? `.${ext}` : ''}`);
      const file = openable(Buffer.concat([head, g.bytes]), ext);
      writeFileAtomic(path, file.bytes);
      const r = summary(path, g, seconds, file.repaired);
      console.log(opts.json ? JSON.stringify(r) : `${path}: ${g.bytes.length} bytes (${g.stop === 'end' ? 'ended by the model' : g.stop === 'length' ? 'reached the patch length' : 'reached --max-bytes'}), ${r.bytes_per_s} bytes/s${file.repaired ? ', header sizes repaired' : ''}`);
    });
  });
}

export function registerConvert(program: Command): void {
  addSamplingOptions(addPrecisionOption(
    program
      .command('convert')
      .description('convert files with a conversion model (e.g. abc → mid)')
      .requiredOption('-m, --model <weights>', 'conversion model: .safetensors, original .pth or bgpt checkpoint')
      .requiredOption('--to <ext>', 'target extension')
      .option('--out <dir>', 'output folder', 'converted')
      .option('--max-bytes <b>', 'stop each output after this many bytes')
      .option('--json', 'print one JSON object per file')
      .argument('<files...>', 'input files (their extension is the source format)'),
  )).action((files: string[], opts: SamplingFlags & { precision?: string; model: string; to: string; out: string; maxBytes?: string; json?: boolean }) => {
    const s = samplingOf(opts);
    const maxBytes = opts.maxBytes === undefined ? undefined : num('--max-bytes', opts.maxBytes, { int: true, min: 1 });
    const inputs = files.map((f) => ({ path: f, bytes: readInput(f) }));
    const model = generativeModel(opts.model, precisionOf(opts.precision));
    mkdirSync(opts.out, { recursive: true });
    const rate = rateReporter('converting');
    rate.start();
    const t0 = performance.now();
    const { patchSize: S, patchLength: L } = model.cfg;
    const prompts = inputs.map(({ path, bytes }) => ({ context: conversionPrompt(bytes, extensionOf(path), opts.to, S, L), partial: [] }));
    const rngs = inputs.map((_, i) => new Rng(s.seed + i));
    const results = continueMany(model, prompts, { ...s, rngs, maxBytes, onByte: rate.onByte });
    rate.done();
    const seconds = (performance.now() - t0) / 1000;
    inputs.forEach(({ path }, i) => {
      const g = results[i], ext = extensionOf(path), name = basename(path);
      const out = join(opts.out, `${ext ? name.slice(0, -(ext.length + 1)) : name}.${opts.to}`);
      const file = openable(g.bytes, opts.to);
      writeFileAtomic(out, file.bytes);
      const r = { input: path, ...summary(out, g, seconds, file.repaired) };
      console.log(opts.json ? JSON.stringify(r) : `${path} → ${out}: ${g.bytes.length} bytes`);
    });
  });
}
