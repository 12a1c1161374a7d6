/**
 * Training and evaluation examples (docs/format.md §1, §4, §6): generative files, conversion pairs and labelled files;
 * the held-out split; seeded epoch order. Examples hold paths only — bytes are read when a batch is built,
 * and a file that cannot be read is reported once and skipped.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { Batch } from '../model/bgpt.js';
import type { Rng } from '../util/rng.js';
import { walkFiles } from './files.js';
import { collate, endsOf, extensionOf, filePatches, truncate, type Truncation } from './patches.js';

/** A conversion mode: `a->b` (one way) or `a&b` (both ways). */
export interface ConversionMode {
  from: string;
  to: string;
  both: boolean;
}

export function parseConversion(s: string): ConversionMode {
  const m = /^([^&>-]*)(->|&)([^&>-]*)$/.exec(s.trim());
  if (!m || !m[1] || !m[3] || m[1] === m[3]) throw new Error(`conversion mode must look like "abc->mid" or "abc&mid", not "${s}"`);
  return { from: m[1], to: m[3], both: m[2] === '&' };
}

export function conversionName(c: ConversionMode): string {
  return `${c.from}${c.both ? '&' : '->'}${c.to}`;
}

export type Example =
  | { kind: 'file'; path: string }
  | { kind: 'pair'; input: string; target: string }
  | { kind: 'labelled'; path: string; label: number };

/** `Business_12.txt` → `Business.txt`: the name up to its first '_' (or its stem), a dot, the extension. */
export function labelFromName(path: string): string {
  const name = basename(path), ext = extensionOf(name);
  const stem = ext ? name.slice(0, -(ext.length + 1)) : name;
  const cut = stem.indexOf('_');
  return `${cut < 0 ? stem : stem.slice(0, cut)}${ext ? `.${ext}` : ''}`;
}

/** The first folder of `path` below the root it was found under (for --labels-from-folders). */
export function labelFromFolder(root: string, path: string): string {
  const rel = relative(root, path).split(sep);
  if (rel.length < 2) throw new Error(`${path}: not inside a class folder of ${root}`);
  return rel[0];
}

/** Every file under the roots, with the root each was found under. */
function filesWithRoots(roots: string[]): { root: string; path: string }[] {
  const out: { root: string; path: string }[] = [];
  for (const root of roots) {
    const before = out.length;
    for (const path of walkFiles([root])) out.push({ root, path });
    if (out.length === before) throw new Error(`${root}: no files found`);
  }
  return out;
}

/** Generative examples: every file. */
export function generativeExamples(roots: string[]): Example[] {
  return filesWithRoots(roots).map(({ path }) => ({ kind: 'file', path }));
}

/** Conversion pairs: files with the same path but the two extensions (both directions for `a&b`). */
export function conversionExamples(roots: string[], c: ConversionMode): Example[] {
  const byStem = new Map<string, Set<string>>();
  for (const { path } of filesWithRoots(roots)) {
    const ext = extensionOf(path);
    if (ext !== c.from && ext !== c.to) continue;
    const stem = join(dirname(path), basename(path).slice(0, -(ext.length + 1)));
    if (!byStem.has(stem)) byStem.set(stem, new Set());
    byStem.get(stem)!.add(ext);
  }
  const out: Example[] = [];
  for (const [stem, exts] of byStem) {
    if (!exts.has(c.from) || !exts.has(c.to)) continue;
    out.push({ kind: 'pair', input: `${stem}.${c.from}`, target: `${stem}.${c.to}` });
    if (c.both) out.push({ kind: 'pair', input: `${stem}.${c.to}`, target: `${stem}.${c.from}` });
  }
  if (out.length === 0) throw new Error(`${roots.join(', ')}: no ${c.from}/${c.to} file pairs with the same name`);
  return out;
}

/**
 * Labelled examples. Label ids follow the order of first appearance; `labels` (from a checkpoint or the
 * training set) fixes them — a label outside it is an error naming the file.
 */
export function labelledExamples(roots: string[], fromFolders: boolean, labels: string[] = [], fixed = false): { examples: Example[]; labels: string[] } {
  const ids = new Map(labels.map((l, i) => [l, i]));
  const examples: Example[] = filesWithRoots(roots).map(({ root, path }) => {
    const name = fromFolders ? labelFromFolder(root, path) : labelFromName(path);
    let id = ids.get(name);
    if (id === undefined) {
      if (fixed) throw new Error(`${path}: label "${name}" is not one of the model's ${ids.size} labels`);
      id = ids.size;
      ids.set(name, id);
      labels.push(name);
    }
    return { kind: 'labelled', path, label: id };
  });
  return { examples, labels };
}

/** Splits off a seeded random `fraction` (at least one example) as the held-out set. */
export function splitHeldOut<T>(examples: T[], fraction: number, rng: Rng): { train: T[]; held: T[] } {
  const order = rng.shuffle([...examples.keys()]);
  const n = Math.max(1, Math.round(examples.length * fraction));
  if (examples.length < 2) throw new Error('need at least two files to hold some out for evaluation');
  const held = new Set(order.slice(0, n));
  return { train: examples.filter((_, i) => !held.has(i)), held: examples.filter((_, i) => held.has(i)) };
}

/** Reads files, remembering (and reporting once) the ones that cannot be read. */
export class FileReader {
  readonly failed = new Map<string, string>();

  constructor(private warn: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)) {}

  read(path: string): Uint8Array | null {
    if (this.failed.has(path)) return null;
    try {
      return readFileSync(path);
    } catch (e) {
      const msg = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.failed.set(path, msg);
      this.warn(`bgpt: skipping ${path} (${msg})`);
      return null;
    }
  }
}

/** The patches of one example: a file, or a conversion pair (input without its end patch, then the target). */
export function examplePatches(e: Example, reader: FileReader, S: number, L: number, mode: Truncation, rng?: Rng): { patches: Int32Array; targetStart: number } | null {
  if (e.kind === 'pair') {
    const a = reader.read(e.input), b = reader.read(e.target);
    if (!a || !b) return null;
    const input = filePatches(a, extensionOf(e.input), S), target = filePatches(b, extensionOf(e.target), S);
    const seq = new Int32Array(input.length - S + target.length);
    seq.set(input.subarray(0, input.length - S));
    seq.set(target, input.length - S);
    // pairs are always cut at the head: the input must stay whole for the target to make sense
    return { patches: truncate(seq, S, L, 'head'), targetStart: input.length / S - 1 };
  }
  const bytes = reader.read(e.path);
  if (!bytes) return null;
  if (mode === 'ends') return { patches: truncate(filePatches(endsOf(bytes, S, L), extensionOf(e.path), S), S, L, 'head'), targetStart: 0 };
  return { patches: truncate(filePatches(bytes, extensionOf(e.path), S), S, L, mode, rng), targetStart: 0 };
}

/** A padded batch of examples (unreadable ones left out); null when none could be read. */
export function makeBatch(examples: Example[], reader: FileReader, S: number, L: number, mode: Truncation, rng?: Rng): { batch: Batch; labels: Int32Array; used: Example[]; targetStarts: number[] } | null {
  const seqs: Int32Array[] = [], labels: number[] = [], used: Example[] = [], starts: number[] = [];
  for (const e of examples) {
    const p = examplePatches(e, reader, S, L, mode, rng);
    if (!p) continue;
    seqs.push(p.patches);
    starts.push(p.targetStart);
    used.push(e);
    labels.push(e.kind === 'labelled' ? e.label : -1);
  }
  if (!seqs.length) return null;
  return { batch: collate(seqs, S), labels: Int32Array.from(labels), used, targetStarts: starts };
}
