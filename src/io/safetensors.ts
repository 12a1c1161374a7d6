/**
 * safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
 * then the raw little-endian tensor bytes. Everything in the header is checked before any data is read:
 * a header that fits in the file, known dtypes, sizes that match shape × dtype, and tensors that tile the
 * data region exactly (inside it, no overlaps, no holes), as the format requires.
 */
import { writeAll, writeAtomic } from '../util/atomic.js';
import type { RandomAccess } from './access.js';
import { DTYPE_BYTES, convertToFloat32, encodeFloat32, isDType, type DType } from './dtypes.js';
import { fileAccess } from './file-access.js';
import { outFor, type TensorSource } from './source.js';

export { halfToFloat } from './dtypes.js';

export type StDtype = 'F32' | 'F16' | 'BF16';
const MAX_HEADER = 100 * 1024 * 1024;

export interface StEntry {
  dtype: string;
  shape: number[];
  /** Byte range inside the data region. */
  begin: number;
  end: number;
}

export interface StHeader {
  entries: Map<string, StEntry>;
  metadata: Record<string, string>;
  /** File offset of the data region. */
  dataStart: number;
}

function readHeader(file: RandomAccess): StHeader {
  const size = file.size;
  if (size < 8) throw new Error('not a safetensors file (too short)');
  const len = file.read(0, 8);
  const hlen = new DataView(len.buffer, len.byteOffset, 8).getBigUint64(0, true);
  if (hlen > BigInt(Math.min(MAX_HEADER, size - 8))) throw new Error(`not a safetensors file (header length ${hlen} does not fit in ${size} bytes)`);
  const hbuf = file.read(8, Number(hlen));
  return parseHeader(hbuf, 8 + hbuf.length, size);
}

/** Parses and validates the header of a safetensors file (reads only the header). */
export function readSafetensorsHeader(path: string): StHeader {
  const file = fileAccess(path);
  try {
    return readHeader(file);
  } finally {
    file.close();
  }
}

function parseHeader(hbuf: Uint8Array, dataStart: number, fileSize: number): StHeader {
  let json: unknown;
  if (hbuf[0] !== 0x7b) throw new Error('not a safetensors file (header does not start with "{")');
  try {
    json = JSON.parse(new TextDecoder().decode(hbuf));
  } catch {
    throw new Error('not a safetensors file (header is not JSON)');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a safetensors file (header is not a JSON object)');
  const entries = new Map<string, StEntry>();
  let metadata: Record<string, string> = {};
  const dataLen = fileSize - dataStart;
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) throw new Error('safetensors __metadata__ must map strings to strings');
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !isDType(e.dtype)) throw new Error(`tensor ${name}: missing or unknown dtype`);
    if (!Array.isArray(e.shape) || e.shape.length > 64 || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`tensor ${name}: bad shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) throw new Error(`tensor ${name}: bad data_offsets`);
    const [begin, end] = off as [number, number];
    if (end > dataLen) throw new Error(`tensor ${name}: data_offsets [${begin}, ${end}] run past the end of the file (${dataLen} data bytes)`);
    let want = DTYPE_BYTES[e.dtype];
    for (const d of e.shape as number[]) want *= d;
    if (end - begin !== want) throw new Error(`tensor ${name}: ${end - begin} bytes for shape [${e.shape}] ${e.dtype} (needs ${want})`);
    entries.set(name, { dtype: e.dtype, shape: e.shape as number[], begin, end });
  }
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let covered = 0;
  for (let i = 0; i < sorted.length; i++) {
    const [name, e] = sorted[i];
    if (e.begin < covered) throw new Error(`tensors ${sorted[i - 1][0]} and ${name} overlap`);
    if (e.begin > covered) throw new Error(`bytes ${covered}..${e.begin} of the data region belong to no tensor`);
    covered = e.end;
  }
  if (covered !== dataLen) throw new Error(`the data region has ${dataLen} bytes but the tensors cover ${covered}`);
  return { entries, metadata, dataStart };
}

/** A safetensors file opened for reading tensor by tensor. */
export class SafetensorsSource implements TensorSource {
  readonly format = 'safetensors' as const;
  readonly header: StHeader;
  readonly tensors = new Map<string, { dtype: DType; shape: number[] }>();
  private file: RandomAccess;

  /** Opens `path` on disk, or reads the file through `file` (then `path` only names it). */
  constructor(readonly path: string, file?: RandomAccess) {
    this.file = file ?? fileAccess(path);
    try {
      this.header = readHeader(this.file);
    } catch (e) {
      this.file.close();
      throw e;
    }
    const sorted = [...this.header.entries].sort((a, b) => a[1].begin - b[1].begin);
    for (const [name, e] of sorted) this.tensors.set(name, { dtype: e.dtype as DType, shape: e.shape });
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  read(name: string, out?: Float32Array): Float32Array {
    const e = this.header.entries.get(name);
    if (!e) throw new Error(`no tensor named ${name}`);
    const dtype = e.dtype as DType;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') throw new Error(`tensor ${name} is ${dtype}, not a floating-point type`);
    const dst = outFor(name, e.shape, out);
    return convertToFloat32(this.file.read(this.header.dataStart + e.begin, e.end - e.begin), dtype, dst);
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Reads the named tensors (all when `names` is omitted) as float32, one at a time, so memory stays at the
 * size of the result.
 */
export function readSafetensors(path: string, names?: string[]): { header: StHeader; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const src = new SafetensorsSource(path);
  try {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const name of names ?? src.header.entries.keys()) {
      const e = src.header.entries.get(name);
      if (!e) throw new Error(`no tensor named ${name}`);
      tensors.set(name, { shape: e.shape, data: src.read(name) });
    }
    return { header: src.header, tensors };
  } finally {
    src.close();
  }
}

export interface StTensor {
  name: string;
  shape: number[];
  data: Float32Array;
  /** Stored type (default F32; F16 / BF16 round to nearest even). */
  dtype?: StDtype;
}

/**
 * Writes float32 tensors as safetensors, atomically: to a temporary file in the same folder, fsync'd, then
 * renamed over the target, so a crash never leaves a half-written file in its place.
 */
export function writeSafetensors(path: string, tensors: StTensor[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name) || t.name === '__metadata__') throw new Error(`duplicate or reserved tensor name ${t.name}`);
    seen.add(t.name);
    const dtype = t.dtype ?? 'F32';
    let n = 1;
    for (const d of t.shape) n *= d;
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: shape [${t.shape}] needs ${n} values, got ${t.data.length}`);
    const bytes = t.data.length * DTYPE_BYTES[dtype];
    header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let h = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (h.length % 8)) % 8;
  if (pad) h = Buffer.concat([h, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeAtomic(path, (fd) => {
    writeAll(fd, len);
    writeAll(fd, h);
    for (const t of tensors) writeAll(fd, encodeFloat32(t.data, t.dtype ?? 'F32')); // little-endian hosts
  });
}
