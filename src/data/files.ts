/** Recursive file discovery: lazily walks folders, skipping hidden files and folders, in sorted order. */
import { nodeFs, nodePath } from '../util/node.js';
import type { BgptConfig } from '../model/config.js';
import type { Reads } from '../model/task.js';
import { endsOf, endsSpans } from './patches.js';

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

/**
 * Reads from `fd` into `buf` at `at` (a position in the file, or null: where the stream stands) until `buf` is
 * full or the input ends; the bytes read. A non-blocking standard input with nothing yet is waited for.
 */
function readFully(fd: number, buf: Uint8Array, at: number | null): number {
  const fs = nodeFs();
  let got = 0;
  while (got < buf.length) {
    let r: number;
    try {
      r = fs.readSync(fd, buf, got, buf.length - got, at === null ? null : at + got);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      continue;
    }
    if (r === 0) break;
    got += r;
  }
  return got;
}

function withInput<T>(path: string, f: (fd: number) => T): T {
  const fs = nodeFs(), stdin = path === '-', fd = stdin ? 0 : fs.openSync(path, 'r');
  try {
    return f(fd);
  } finally {
    if (!stdin) fs.closeSync(fd);
  }
}

/** The first `n` bytes of a file (all of a shorter one); standard input (`-`) is read up to `n` bytes. */
export function readHead(path: string, n: number): Uint8Array {
  return withInput(path, (fd) => {
    const buf = new Uint8Array(n);
    return buf.subarray(0, readFully(fd, buf, null));
  });
}

/**
 * The bytes endsOf(file, S, L) keeps — the whole file when it fits L − 1 patches, else its head and tail —
 * read without the middle of a regular file (a 1 GB file costs two reads); standard input is read through,
 * keeping only what is needed.
 */
export function readEnds(path: string, S: number, L: number): Uint8Array {
  const room = (L - 1) * S;
  return withInput(path, (fd) => {
    const fs = nodeFs();
    const st = path === '-' ? null : fs.fstatSync(fd);
    if (st?.isFile()) {
      const spans = endsSpans(st.size, S, L), out = new Uint8Array(spans.reduce((n, [a, b]) => n + b - a, 0));
      let at = 0;
      for (const [a, b] of spans) at += readFully(fd, out.subarray(at, at + b - a), a);
      // a file that shrank while read: what was there
      return at === out.length ? out : endsOf(readHead(path, room), S, L);
    }
    // a stream: its first `room` bytes, then a window over the last `room` bytes moved along to its end
    const first = new Uint8Array(room), n = readFully(fd, first, null);
    if (n < room) return first.subarray(0, n);
    let last = first, total = room, got: number;
    const more = new Uint8Array(room);
    while ((got = readFully(fd, more, null)) > 0) {
      const w = new Uint8Array(room);
      w.set(last.subarray(got));
      w.set(more.subarray(0, got), room - got);
      last = w;
      total += got;
      if (got < room) break;
    }
    // the spans of a file of `total` bytes: its first bytes are in `first`, its last `room` in `last`
    const out = new Uint8Array(total > room ? room : total);
    let at = 0;
    endsSpans(total, S, L).forEach(([a, b], i) => {
      // the head span lies in `first`; the tail span (at most `room` bytes from the end) in `last`
      out.set(i === 0 ? first.subarray(a, b) : last.subarray(room - (total - a), room - (total - b)), at);
      at += b - a;
    });
    return out;
  });
}

/** What a detector of `cfg` reads of a file (api/detect.ts detectInput), read from the file: readHead or readEnds. */
export function readDetectInput(path: string, cfg: Pick<BgptConfig, 'patchSize' | 'patchLength'>, reads: Reads = 'head'): Uint8Array {
  return reads === 'ends' ? readEnds(path, cfg.patchSize, cfg.patchLength) : readHead(path, (cfg.patchLength - 1) * cfg.patchSize);
}
