/**
 * Writes a torch checkpoint archive (the zip layout of torch.save: `archive/data.pkl`, `archive/data/<key>`,
 * `archive/version`) from a value tree whose tensors reference storages by key. Storage bytes are produced
 * one at a time by callbacks, so a model is never copied whole; the file is written atomically.
 */
import { DTYPE_BYTES } from '../dtypes.js';
import { writeAtomic } from '../../util/atomic.js';
import { pickle } from './pickle.js';
import { PyDict, PyTuple, StorageRef, TensorRef, type PyValue } from './pyvalue.js';
import { ZipWriter } from './zip-write.js';

/** Bytes of one storage, produced when it is written (may return several parts). */
export type StorageBytes = () => Uint8Array | Uint8Array[];

/** Every storage a value tree references (iteratively, so deep trees cannot overflow the stack). */
function storagesOf(root: PyValue): Map<string, StorageRef> {
  const found = new Map<string, StorageRef>();
  const todo: PyValue[] = [root];
  const seen = new Set<object>();
  while (todo.length) {
    const v = todo.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof TensorRef) {
      const prev = found.get(v.storage.key);
      if (prev && prev !== v.storage) throw new Error(`two different storages share the key ${v.storage.key}`);
      found.set(v.storage.key, v.storage);
    } else if (v instanceof PyDict) todo.push(...v.map.values());
    else if (v instanceof PyTuple) todo.push(...v.items);
    else if (Array.isArray(v)) todo.push(...v);
  }
  return found;
}

export function writePth(path: string, root: PyValue, storages: Map<string, StorageBytes>, archive = 'archive'): void {
  const refs = storagesOf(root);
  for (const key of refs.keys()) if (!storages.has(key)) throw new Error(`no data for storage ${key}`);
  const pkl = pickle(root);
  writeAtomic(path, (fd) => {
    const zip = new ZipWriter(fd);
    zip.add(`${archive}/data.pkl`, pkl);
    for (const key of [...refs.keys()].sort()) {
      const s = refs.get(key)!;
      const got = storages.get(key)!();
      const parts = Array.isArray(got) ? got : [got];
      const size = parts.reduce((a, p) => a + p.length, 0);
      if (size !== s.numel * DTYPE_BYTES[s.dtype]) throw new Error(`storage ${key}: ${size} bytes for ${s.numel} ${s.dtype} values`);
      zip.add(`${archive}/data/${key}`, ...parts);
    }
    zip.add(`${archive}/version`, Buffer.from('3\n'));
    zip.finish();
  });
}
