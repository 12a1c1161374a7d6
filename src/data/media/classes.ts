/**
 * A folder per class → flat `Label_N.ext` files, the naming the classifier reads labels from (docs/format.md §4:
 * `Business_12.txt` → label `Business.txt`), optionally split into train/ and test/ by class.
 */
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { extensionOf } from '../patches.js';
import { walkFiles } from '../files.js';
import type { Rng } from '../../util/rng.js';

export interface ClassFile {
  /** The source file. */
  from: string;
  /** Path of the new file relative to the output folder (`Label_N.ext`, or `train/…`, `test/…`). */
  to: string;
  /** The class as the folder names it, and as it appears in the new name. */
  folder: string;
  label: string;
}

/**
 * The class name as written in file names: a '_' would end the label early and a path separator cannot
 * appear, so both become '-'.
 */
export function classLabel(folder: string): string {
  return folder.replace(/[_/\\]/g, '-');
}

/**
 * Plans the copies: each subfolder of `src` is a class (files found recursively below it, in sorted order),
 * numbered from 1 per class. With `testShare` > 0 a seeded random share of each class (at least one file
 * when the class has two or more) goes to `test/`, the rest to `train/`.
 */
export function planClasses(src: string, o: { testShare?: number; rng?: Rng } = {}): ClassFile[] {
  let names: string[];
  try {
    names = readdirSync(src).filter((n) => !n.startsWith('.') && statSync(join(src, n)).isDirectory()).sort();
  } catch (e) {
    throw new Error(`${src}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`);
  }
  if (names.length === 0) throw new Error(`${src}: no class folders (expected one subfolder per class)`);
  const labels = new Map<string, string>();
  const out: ClassFile[] = [];
  const share = o.testShare ?? 0;
  for (const folder of names) {
    const label = classLabel(folder);
    const clash = labels.get(label);
    if (clash !== undefined) throw new Error(`${src}: class folders "${clash}" and "${folder}" both become label "${label}"`);
    labels.set(label, folder);
    const files = [...walkFiles([join(src, folder)])];
    if (files.length === 0) throw new Error(`${join(src, folder)}: no files in this class folder`);
    let test = new Set<number>();
    if (share > 0) {
      if (!o.rng) throw new Error('a test share needs a seeded rng');
      const k = files.length < 2 ? 0 : Math.min(files.length - 1, Math.max(1, Math.round(files.length * share)));
      test = new Set(o.rng.shuffle([...files.keys()]).slice(0, k));
    }
    files.forEach((from, i) => {
      const ext = extensionOf(from);
      const name = `${label}_${i + 1}${ext ? `.${ext}` : ''}`;
      out.push({ from, to: share > 0 ? join(test.has(i) ? 'test' : 'train', name) : name, folder, label });
    });
  }
  return out;
}

/** Copies the planned files into `out`. */
export function writeClasses(plan: ClassFile[], out: string): void {
  for (const f of plan) {
    const to = join(out, f.to);
    mkdirSync(join(to, '..'), { recursive: true });
    try {
      copyFileSync(f.from, to);
    } catch (e) {
      throw new Error(`${f.from}: cannot copy to ${to} (${(e as Error).message})`);
    }
  }
}
