/** Random access to a file on disk through a Node file descriptor (closed by `close`). */
import { nodeFs } from '../util/node.js';
import { checkRange, type RandomAccess } from './access.js';

export function fileAccess(path: string): RandomAccess {
  const { closeSync, fstatSync, openSync, readSync } = nodeFs();
  let fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return {
    size,
    read(offset, length, into) {
      checkRange(offset, length, size);
      const b = into && into.length >= length ? into.subarray(0, length) : new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, b, done, length - done, offset + done);
        if (n <= 0) throw new Error(`file ends at byte ${offset + done} (truncated?)`);
        done += n;
      }
      return b;
    },
    close() {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}
