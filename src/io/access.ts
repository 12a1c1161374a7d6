/**
 * Random access to the bytes of a file, the one thing the readers need from where a file lives: a Node file
 * descriptor (src/io/file-access.ts), a bytes array, or a browser Blob / File (src/web/blob-access.ts). The
 * safetensors and .pth parsers read through this, so Node and the browser share them and only file access
 * differs; reads are by range, so a multi-GB file is never held in memory.
 */
export interface RandomAccess {
  readonly size: number;
  /**
   * Exactly `length` bytes at `offset` (callers check the range lies inside the file). With `into` (at least
   * `length` bytes long) the bytes may be read into it and a view of it returned, valid until `into` is
   * reused: streamed loading then reads every piece through one buffer instead of a new one each time.
   */
  read(offset: number, length: number, into?: Uint8Array): Uint8Array;
  close(): void;
}

/** Checks that [offset, offset + length) lies inside a file of `size` bytes. */
export function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new Error(`file is truncated or corrupt (needs bytes ${offset}..${offset + length} of ${size})`);
  }
}

/** Random access to bytes already in memory (no copy: reads are views). */
export function bytesAccess(bytes: Uint8Array): RandomAccess {
  return {
    size: bytes.length,
    read(offset, length) {
      checkRange(offset, length, bytes.length);
      return bytes.subarray(offset, offset + length);
    },
    close() {},
  };
}
