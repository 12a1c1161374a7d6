/** Opens a weights file by what its first bytes say it is, whatever its name. */
import { closeSync, openSync, readSync } from 'node:fs';
import { PthSource } from './pth/read-pth.js';
import { SafetensorsSource } from './safetensors.js';
import type { TensorSource } from './source.js';

export type FileFormat = 'pth' | 'safetensors';

export function detectFormat(path: string): FileFormat {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(16);
  let n: number;
  try {
    n = readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'pth';
  if (n >= 4 && head.readUInt32LE(0) === 0x06054b50) throw new Error('an empty zip archive, not a torch checkpoint');
  if (n >= 9 && head[8] === 0x7b) return 'safetensors'; // the header length is checked when it is read
  if (n >= 2 && head[0] === 0x80 && head[1] <= 5) throw new Error('a legacy torch file (saved by torch < 1.6 or with _use_new_zipfile_serialization=False); re-save it with torch.save from torch ≥ 1.6');
  throw new Error('not a model file (neither a torch .pth zip archive nor safetensors)');
}

export function openTensorSource(path: string): TensorSource {
  return detectFormat(path) === 'pth' ? new PthSource(path) : new SafetensorsSource(path);
}
