/** Recursive file discovery: lazily walks folders, skipping hidden files and folders, in sorted order. */
import { nodeFs, nodePath } from '../util/node.js';

/** Yields every regular, non-hidden file under each path (a file path is yielded as is). */
export function* walkFiles(paths: string[]): Generator<string> {
  for (const p of paths) {
    let st;
    try {
      st = nodeFs().statSync(p);
    } catch (e) {
      throw new Error(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`);
    }
    if (st.isFile()) yield p;
    else if (st.isDirectory()) yield* walkDir(p);
    else throw new Error(`${p}: not a file or folder`);
  }
}

function* walkDir(dir: string): Generator<string> {
  // names are sorted per folder so that runs are reproducible; only one folder's names are held at a time
  const d = nodeFs().opendirSync(dir);
  const names: { name: string; dir: boolean; file: boolean }[] = [];
  try {
    for (let e = d.readSync(); e; e = d.readSync()) {
      if (e.name.startsWith('.')) continue;
      names.push({ name: e.name, dir: e.isDirectory(), file: e.isFile() });
    }
  } finally {
    d.closeSync();
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of names) {
    const p = nodePath().join(dir, e.name);
    if (e.dir) yield* walkDir(p);
    else if (e.file) yield p;
  }
}

/** All files under the paths; an error names the path when there are none. */
export function listFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const before = out.length;
    for (const f of walkFiles([p])) out.push(f);
    if (out.length === before) throw new Error(`${p}: no files found`);
  }
  return out;
}
