/**
 * Random access to a Blob or File inside a Web Worker: FileReaderSync reads one slice at a time, so a
 * multi-GB checkpoint is opened by reading its zip directory and then only the tensors the model needs.
 */
import { checkRange, type RandomAccess } from '../io/access.js';

/** FileReaderSync exists in workers only (not in the DOM typings this folder compiles with). */
declare const FileReaderSync: { new (): { readAsArrayBuffer(b: Blob): ArrayBuffer } };

/** `bytesRead` counts what was read, to show how little of a large checkpoint loading needs. */
export function blobAccess(blob: Blob): RandomAccess & { bytesRead: number } {
  const reader = new FileReaderSync();
  return {
    size: blob.size,
    bytesRead: 0,
    read(offset, length) {
      checkRange(offset, length, blob.size);
      this.bytesRead += length;
      return new Uint8Array(reader.readAsArrayBuffer(blob.slice(offset, offset + length)));
    },
    close() {},
  };
}
