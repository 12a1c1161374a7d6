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

/** The first `n` bytes of a file (all of a shorter one); standard input (`-`) is read up to `n` bytes. */
export function readHead(path: string, n: number): Uint8Array {
  const fs = nodeFs(), stdin = path === '-', fd = stdin ? 0 : fs.openSync(path, 'r');
  try {
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      let r: number;
      try {
        r = fs.readSync(fd, buf, got, n - got, null);
      } catch (e) {
        // a non-blocking standard input with nothing yet: wait for it
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (r === 0) break;
      got += r;
    }
    return buf.subarray(0, got);
  } finally {
    if (!stdin) fs.closeSync(fd);
  }
}
