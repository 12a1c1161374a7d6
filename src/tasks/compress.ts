/**
 * Files ⇄ .bgpz (src/compress): naming, stdin/stdout, atomic writes that never replace a file unasked, per-file
 * statistics, and the comparison with classic compressors (`bgpt bench compress`).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import { getExactKernels } from '../backend/exact/index.js';
import { exactOf, useExactKernels } from '../api/compress.js';
import type { ExactBgpt } from '../compress/exact-model.js';
import { compressBytes, decompressBytes, decompressMany, useHash, type Hash } from '../compress/codec.js';
import { readHeader, Reader } from '../compress/container.js';
import { extensionOf } from '../data/patches.js';
import type { BgptModel } from '../model/bgpt.js';
import { writeAll, writeFileAtomic } from '../util/atomic.js';
import { readInput } from './eval.js';

export const SUFFIX = '.bgpz';

export interface FileResult {
  input: string;
  output: string;
  bytes: number;
  compressed: number;
  bits_per_byte: number;
  /** Seconds of its own (compression), or its share by bytes of the batch it was decoded in (decompression). */
  seconds: number;
}

export interface FilesOptions {
  outDir?: string;
  force?: boolean;
  /** Bytes per segment when compressing (codec.SEGMENT_BYTES by default; 0: one segment per file). */
  segmentBytes?: number;
  onProgress?: (file: string, done: number, total: number) => void;
}

/** Decompression decodes files side by side in batches of at most this many files and output bytes. */
const BATCH_FILES = 256, BATCH_BYTES = 256 * 2 ** 20;

// in Node the exact kernels follow the backend in use (native where built), and model ids come from
// node:crypto: the same bits, faster
export function nodeHash(): Hash {
  const h = createHash('sha256');
  const hash: Hash = { update: (d) => (h.update(d), hash), digest: () => new Uint8Array(h.digest()) };
  return hash;
}
useExactKernels(getExactKernels);
useHash(nodeHash);

/** The model on the exact kernels of the backend in use (TypeScript or native: the same bits). */
export function exactModel(model: BgptModel): ExactBgpt {
  return exactOf(model);
}

function outputPath(input: string, mode: 'compress' | 'decompress', outDir?: string): string {
  let name = basename(input);
  if (mode === 'compress') name += SUFFIX;
  else {
    if (!name.endsWith(SUFFIX) || name.length === SUFFIX.length) throw new Error(`${input}: not named NAME${SUFFIX}`);
    name = name.slice(0, -SUFFIX.length);
  }
  return join(outDir ?? dirname(input), name);
}

function readAll(input: string): Buffer {
  return input === '-' ? readFileSync(0) : readInput(input);
}

const inputName = (input: string) => (input === '-' ? 'stdin' : input);

function outputFor(input: string, mode: 'compress' | 'decompress', opts: FilesOptions): string {
  const output = input === '-' ? '-' : outputPath(input, mode, opts.outDir);
  if (output !== '-' && existsSync(output) && !opts.force) throw new Error(`${output}: already exists (use --force to replace it)`);
  return output;
}

function emit(output: string, result: Uint8Array): void {
  if (output === '-') writeAll(1, result);
  else writeFileAtomic(output, result);
}

const resultOf = (input: string, output: string, bytes: number, compressed: number, seconds: number): FileResult => ({
  input, output, bytes, compressed, bits_per_byte: bytes ? (8 * compressed) / bytes : 0, seconds,
});

/**
 * Compresses (or decompresses) each file; '-' reads stdin and writes stdout. Stops at the first failure:
 * the files before it are written, it and the files after it are not. Decompression decodes batches of
 * files side by side (codec.decompressMany).
 */
export function processFiles(ex: ExactBgpt, mode: 'compress' | 'decompress', inputs: string[], opts: FilesOptions = {}): FileResult[] {
  if (mode === 'decompress') return decompressFiles(ex, inputs, opts);
  const results: FileResult[] = [];
  for (const input of inputs) {
    const output = outputFor(input, mode, opts), data = readAll(input);
    const t0 = performance.now();
    let result: Uint8Array;
    try {
      result = compressBytes(ex, data, input === '-' ? '' : extensionOf(input), { segmentBytes: opts.segmentBytes, onProgress: (d, t) => opts.onProgress?.(input, d, t) });
    } catch (e) {
      throw new Error(`${inputName(input)}: ${(e as Error).message}`);
    }
    emit(output, result);
    results.push(resultOf(input, output, data.length, result.length, (performance.now() - t0) / 1000));
  }
  return results;
}

/** The original length a container declares (0 when it cannot be read: decoding reports why). */
function declaredLength(buf: Uint8Array): number {
  try {
    return readHeader(new Reader(buf)).length;
  } catch {
    return 0;
  }
}

function decompressFiles(ex: ExactBgpt, inputs: string[], opts: FilesOptions): FileResult[] {
  const results: FileResult[] = [];
  for (let i0 = 0; i0 < inputs.length;) {
    const batch: { input: string; output: string; data: Uint8Array }[] = [];
    let stop: Error | null = null; // an input that cannot be read or named: the files before it are still done
    for (let bytes = 0; i0 < inputs.length && batch.length < BATCH_FILES && (bytes < BATCH_BYTES || !batch.length); i0++) {
      try {
        const input = inputs[i0], output = outputFor(input, 'decompress', opts), data = readAll(input);
        batch.push({ input, output, data });
        bytes += declaredLength(data);
      } catch (e) {
        stop = e as Error;
        break;
      }
    }
    const t0 = performance.now();
    const decoded = decompressMany(ex, batch.map((b) => b.data), { onProgress: (i, d, t) => opts.onProgress?.(batch[i].input, d, t) });
    const seconds = (performance.now() - t0) / 1000, total = decoded.reduce((a, r) => a + (r instanceof Error ? 0 : r.bytes.length), 0);
    decoded.forEach((r, i) => {
      const { input, output, data } = batch[i];
      if (r instanceof Error) throw new Error(`${inputName(input)}: ${r.message}`);
      emit(output, r.bytes);
      results.push(resultOf(input, output, r.bytes.length, data.length, total ? (seconds * r.bytes.length) / total : 0));
    });
    if (stop) throw stop;
  }
  return results;
}

export function totals(r: { bytes: number; compressed: number; seconds: number }[]): { bytes: number; compressed: number; bits_per_byte: number; seconds: number } {
  const bytes = r.reduce((a, x) => a + x.bytes, 0), compressed = r.reduce((a, x) => a + x.compressed, 0);
  return { bytes, compressed, bits_per_byte: bytes ? (8 * compressed) / bytes : 0, seconds: r.reduce((a, x) => a + x.seconds, 0) };
}

/** A classic compressor for the comparison: null when its program is not installed. */
interface Classic {
  name: string;
  compress(d: Uint8Array): Uint8Array;
  decompress(d: Uint8Array): Uint8Array;
}

function program(cmd: string, cArgs: string[], dArgs: string[]): Classic | null {
  const probe = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) return null;
  const run = (args: string[], input: Uint8Array) => {
    const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString().trim()}`);
    return new Uint8Array(r.stdout);
  };
  return { name: `${cmd} ${cArgs[0]}`, compress: (d) => run(cArgs, d), decompress: (d) => run(dArgs, d) };
}

/** gzip and brotli from Node's zlib; xz and zstd when their programs exist (else listed as skipped). */
export function classicCompressors(): { available: Classic[]; skipped: string[] } {
  const available: Classic[] = [
    { name: 'gzip -9', compress: (d) => gzipSync(d, { level: 9 }), decompress: (d) => gunzipSync(d) },
    {
      name: 'brotli -q 11',
      compress: (d) => brotliCompressSync(d, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: d.length } }),
      decompress: (d) => brotliDecompressSync(d),
    },
  ];
  const skipped: string[] = [];
  for (const [name, c] of [['xz -9e', program('xz', ['-9e', '-c', '-q'], ['-d', '-c', '-q'])], ['zstd -19', program('zstd', ['-19', '-c', '-q'], ['-d', '-c', '-q'])]] as const) {
    if (c) available.push(c);
    else skipped.push(`${name} (${name.split(' ')[0]} not installed)`);
  }
  return { available, skipped };
}

export interface BenchEntry {
  name: string;
  compressed: number;
  bits_per_byte: number;
  compress_bytes_per_s: number;
  decompress_bytes_per_s: number;
}

export interface BenchFile {
  file: string;
  bytes: number;
  results: BenchEntry[];
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
}

export interface BenchCompressOptions {
  onFile?: (file: string) => void;
  /** Decode every n-th file's bgpt output to check it (1: all; its decompression speed counts those files). */
  verifyEvery?: number;
  /** The group of each file (e.g. its folder): totals per group as well. */
  groupOf?: (file: string) => string;
}

export interface BenchCompressResult {
  files: BenchFile[];
  total: BenchFile;
  groups?: BenchFile[];
  /** Files whose bgpt output was decoded and matched. */
  verified: number;
  skipped: string[];
}

/** Sizes and speeds of bgpt and the classic compressors on each file alone, and in total (and per group). */
export function benchCompress(ex: ExactBgpt, files: string[], opts: BenchCompressOptions = {}): BenchCompressResult {
  const { available, skipped } = classicCompressors();
  const out: BenchFile[] = [];
  const timings: Timing[][] = []; // per file, per coder
  const every = opts.verifyEvery ?? 1;
  let verified = 0;
  for (const [i, file] of files.entries()) {
    opts.onFile?.(file);
    const data = readInput(file);
    const results: BenchEntry[] = [], times: Timing[] = [];
    const coders: Classic[] = [
      { name: 'bgpt', compress: (d) => compressBytes(ex, d, extensionOf(file)), decompress: (d) => decompressBytes(ex, d).bytes },
      ...available,
    ];
    for (const c of coders) {
      const [packed, tc] = timed(() => c.compress(data));
      // every classic output is decoded; bgpt's (slow: a forward step per byte) every `every`-th file
      const check = c.name !== 'bgpt' || i % every === 0;
      const [back, td] = check ? timed(() => c.decompress(packed)) : [data, 0];
      if (Buffer.compare(Buffer.from(back), data) !== 0) throw new Error(`${file}: ${c.name} did not round-trip`);
      if (check && c.name === 'bgpt') verified++;
      const t = { c: tc, d: td, dBytes: check ? data.length : 0 };
      results.push(entry(c.name, data.length, packed.length, t));
      times.push(t);
    }
    out.push({ file, bytes: data.length, results });
    timings.push(times);
  }
  const sum = (label: string, idx: number[]): BenchFile => {
    const bytes = idx.reduce((a, i) => a + out[i].bytes, 0);
    return {
      file: `${label} (${idx.length} files)`, bytes,
      results: (out[0]?.results ?? []).map((e0, j) => {
        const add = (k: keyof Timing) => idx.reduce((a, i) => a + timings[i][j][k], 0);
        return entry(e0.name, bytes, idx.reduce((a, i) => a + out[i].results[j].compressed, 0), { c: add('c'), d: add('d'), dBytes: add('dBytes') });
      }),
    };
  };
  const r: BenchCompressResult = { files: out, total: sum('total', [...out.keys()]), verified, skipped };
  if (opts.groupOf) {
    const by = new Map<string, number[]>();
    for (const [i, f] of out.entries()) by.set(opts.groupOf(f.file), [...(by.get(opts.groupOf(f.file)) ?? []), i]);
    r.groups = [...by].map(([g, idx]) => sum(g, idx));
  }
  return r;
}

interface Timing {
  c: number;
  d: number;
  /** Bytes whose decompression was timed. */
  dBytes: number;
}

function entry(name: string, bytes: number, compressed: number, t: Timing): BenchEntry {
  return {
    name, compressed, bits_per_byte: bytes ? (8 * compressed) / bytes : 0,
    compress_bytes_per_s: Math.round(bytes / Math.max(t.c, 1e-9)), decompress_bytes_per_s: t.dBytes ? Math.round(t.dBytes / Math.max(t.d, 1e-9)) : 0,
  };
}
