/**
 * Atomic file writes: a temporary sibling, fsync'd, renamed over the target, then the folder fsync'd — a
 * crash leaves either the old file or the new one, never half of one.
 */
import { nodeFs, nodePath } from './node.js';

/** Writes all of `b` (writeSync may write less than asked). */
export function writeAll(fd: number, b: Uint8Array): void {
  const { writeSync } = nodeFs();
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/** Runs `write` on a temporary sibling file, fsyncs it, renames it over `path` and fsyncs the folder. */
export function writeAtomic(path: string, write: (fd: number) => void): void {
  const { closeSync, fsyncSync, openSync, renameSync, rmSync } = nodeFs(), { basename, dirname, join } = nodePath();
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    write(fd);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // some filesystems do not let a folder be opened or synced; the file itself is already durable
  }
}

/** Writes `data` to `path` atomically; the error names the file. */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  try {
    writeAtomic(path, (fd) => writeAll(fd, data));
  } catch (e) {
    throw new Error(`${path}: cannot write (${(e as Error).message})`);
  }
}
