/**
 * safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
 * then the raw little-endian tensor bytes. Everything in the header is checked before any data is read:
 * offsets inside the data region, sizes that match shape × dtype, no overlaps.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export type StDtype = 'F32' | 'F16' | 'BF16';
const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
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

/** Parses and validates the header of a safetensors file (reads only the header). */
export function readSafetensorsHeader(path: string): StHeader {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new Error('not a safetensors file (too short)');
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const hlen = lenBuf.readBigUInt64LE(0);
    if (hlen > BigInt(Math.min(MAX_HEADER, size - 8))) throw new Error(`not a safetensors file (header length ${hlen} does not fit in ${size} bytes)`);
    const hbuf = Buffer.alloc(Number(hlen));
    readSync(fd, hbuf, 0, hbuf.length, 8);
    return parseHeader(hbuf, 8 + hbuf.length, size);
  } finally {
    closeSync(fd);
  }
}

function parseHeader(hbuf: Buffer, dataStart: number, fileSize: number): StHeader {
  let json: unknown;
  try {
    json = JSON.parse(hbuf.toString('utf8'));
  } catch {
    throw new Error('not a safetensors file (header is not JSON)');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a safetensors file (header is not a JSON object)');
  const entries = new Map<string, StEntry>();
  let metadata: Record<string, string> = {};
  const dataLen = fileSize - dataStart;
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Object.values(v).some((x) => typeof x !== 'string')) throw new Error('safetensors __metadata__ must map strings to strings');
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw new Error(`tensor ${name}: missing or unknown dtype`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`tensor ${name}: bad shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) throw new Error(`tensor ${name}: bad data_offsets`);
    const [begin, end] = off as [number, number];
    if (end > dataLen) throw new Error(`tensor ${name}: data_offsets [${begin}, ${end}] run past the end of the file (${dataLen} data bytes)`);
    const want = (e.shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype];
    if (end - begin !== want) throw new Error(`tensor ${name}: ${end - begin} bytes for shape [${e.shape}] ${e.dtype} (needs ${want})`);
    entries.set(name, { dtype: e.dtype, shape: e.shape as number[], begin, end });
  }
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i][1].begin < sorted[i - 1][1].end) throw new Error(`tensors ${sorted[i - 1][0]} and ${sorted[i][0]} overlap`);
  }
  return { entries, metadata, dataStart };
}

/** Converts raw little-endian F32 / F16 / BF16 bytes to float32. */
export function toFloat32(bytes: Uint8Array, dtype: string): Float32Array {
  const n = bytes.length / (DTYPE_BYTES[dtype] ?? 1);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (dtype === 'F32') for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  else if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
  } else if (dtype === 'F16') for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
  else throw new Error(`unsupported dtype ${dtype} (expected F32, F16 or BF16)`);
  return out;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * Reads the named tensors (all when `names` is omitted) as float32, one at a time, so memory stays at the
 * size of the result.
 */
export function readSafetensors(path: string, names?: string[]): { header: StHeader; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const header = readSafetensorsHeader(path);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const fd = openSync(path, 'r');
  try {
    for (const name of names ?? header.entries.keys()) {
      const e = header.entries.get(name);
      if (!e) throw new Error(`no tensor named ${name}`);
      const raw = Buffer.alloc(e.end - e.begin);
      readSync(fd, raw, 0, raw.length, header.dataStart + e.begin);
      tensors.set(name, { shape: e.shape, data: toFloat32(raw, e.dtype) });
    }
  } finally {
    closeSync(fd);
  }
  return { header, tensors };
}

/**
 * Writes float32 tensors as safetensors, atomically: to a temporary file in the same folder, fsync'd, then
 * renamed over the target, so a crash never leaves a half-written file in its place.
 */
export function writeSafetensors(path: string, tensors: { name: string; shape: number[]; data: Float32Array }[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.length * 4] };
    off += t.data.length * 4;
  }
  let h = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (h.length % 8)) % 8;
  if (pad) h = Buffer.concat([h, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeAtomic(path, (fd) => {
    writeSync(fd, len);
    writeSync(fd, h);
    for (const t of tensors) {
      const b = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength); // little-endian hosts
      writeSync(fd, b);
    }
  });
}

/** Runs `write` on a temporary sibling file, fsyncs it and renames it over `path`. */
export function writeAtomic(path: string, write: (fd: number) => void): void {
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
}
