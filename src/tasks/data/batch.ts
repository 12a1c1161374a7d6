/**
 * Batch conversion of files for `bgpt data`: the inputs named on the command line (files, and the files below
 * folders), where each result goes below the output folder, and the loop that converts them one by one.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { walkFiles } from '../../data/files.js';
import { extensionOf } from '../../data/patches.js';
import { writeFileAtomic } from '../../util/atomic.js';
import type { Progress } from '../../util/progress.js';
import { readInput } from '../eval.js';

export interface Input {
  path: string;
  /** Where it goes below the output folder: its path below the folder it was found in, or its name. */
  rel: string;
}

/** Progress display and the warning line for a skipped file. */
export interface BatchHooks {
  progress: Progress;
  warn(msg: string): void;
}

export interface BatchResult {
  written: number;
  skipped: number;
}

/** Files named on the command line, and the files found below folders named there. */
export function inputsOf(paths: string[]): Input[] {
  const out: Input[] = [];
  for (const p of paths) {
    const before = out.length;
    const isDir = statOrThrow(p).isDirectory();
    for (const f of walkFiles([p])) out.push({ path: f, rel: isDir ? relative(p, f) : basename(f) });
    if (out.length === before) throw new Error(`${p}: no files found`);
  }
  return out;
}

function statOrThrow(p: string) {
  try {
    return statSync(p);
  } catch (e) {
    throw new Error(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`);
  }
}

/** The path without its extension. */
export function stemOf(rel: string): string {
  const ext = extensionOf(rel);
  return ext ? rel.slice(0, -(ext.length + 1)) : rel;
}

export function withExt(rel: string, ext: string): string {
  return `${stemOf(rel)}.${ext}`;
}

/** Writes a file atomically, making its folder first. */
export function writeOut(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, bytes);
}

/** Runs `convert` over every input; a failure stops the batch (naming the file) unless `skip` is set. */
export async function convertEach(
  inputs: Input[], skip: boolean, hooks: BatchHooks,
  convert: (bytes: Uint8Array, input: Input) => Promise<{ path: string; bytes: Uint8Array }[]>,
): Promise<BatchResult> {
  const { progress } = hooks, seen = new Map<string, string>();
  let written = 0, skipped = 0;
  for (const [i, input] of inputs.entries()) {
    progress.update(`${i}/${inputs.length} ${input.path}`);
    let outs;
    try {
      outs = await convert(readInput(input.path), input);
    } catch (e) {
      const msg = `${input.path}: ${(e as Error).message}`;
      if (!skip) throw new Error(`${msg} (--skip-errors goes on past such files)`);
      progress.done();
      hooks.warn(`skipping ${msg}`);
      skipped++;
      continue;
    }
    for (const o of outs) {
      const prev = seen.get(o.path);
      if (prev !== undefined) throw new Error(`${input.path}: would overwrite ${o.path}, already written for ${prev}`);
      seen.set(o.path, input.path);
      writeOut(o.path, o.bytes);
      written++;
    }
  }
  progress.done();
  return { written, skipped };
}

/** Refuses a folder that holds files already (they would mix into what is written there). */
export function emptyOrNew(dir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch {
    return;
  }
  if (names.length) throw new Error(`${dir}: not empty; write to a new folder (files left from before would mix into the classes)`);
}
