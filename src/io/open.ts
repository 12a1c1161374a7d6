/** Opens a weights file by what its first bytes say it is, whatever its name. */
import type { RandomAccess } from './access.js';
import { fileAccess } from './file-access.js';
import { PthSource } from './pth/read-pth.js';
import { SafetensorsSource } from './safetensors.js';
import type { TensorSource } from './source.js';

export type FileFormat = 'pth' | 'safetensors';

/** The format of a file from its first (up to 16) bytes. */
export function formatOf(head: Uint8Array): FileFormat {
  const n = head.length, sig = n >= 4 ? new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) : -1;
  if (sig === 0x04034b50) return 'pth';
  if (sig === 0x06054b50) throw new Error('an empty zip archive, not a torch checkpoint');
  if (n >= 9 && head[8] === 0x7b) return 'safetensors'; // the header length is checked when it is read
  if (n >= 2 && head[0] === 0x80 && head[1] <= 5) throw new Error('a legacy torch file (saved by torch < 1.6 or with _use_new_zipfile_serialization=False); re-save it with torch.save from torch ≥ 1.6');
  throw new Error('not a model file (neither a torch .pth zip archive nor safetensors)');
}

function headOf(file: RandomAccess): Uint8Array {
  return file.read(0, Math.min(16, file.size));
}

export function detectFormat(path: string): FileFormat {
  const file = fileAccess(path);
  try {
    return formatOf(headOf(file));
  } finally {
    file.close();
  }
}

/** Opens `path` on disk, or reads the file through `file` (then `path` only names it; closed on error). */
export function openTensorSource(path: string, file?: RandomAccess): TensorSource {
  if (!file) return detectFormat(path) === 'pth' ? new PthSource(path) : new SafetensorsSource(path);
  let format: FileFormat;
  try {
    format = formatOf(headOf(file));
  } catch (e) {
    file.close();
    throw e;
  }
  return format === 'pth' ? new PthSource(path, file) : new SafetensorsSource(path, file);
}
