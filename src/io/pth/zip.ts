/**
 * A small, strict, synchronous zip reader for torch's checkpoint archives. It reads only the central
 * directory up front and then single entries (or byte ranges of stored entries) on demand, so a multi-GB
 * archive is never held in memory. Every offset and size is checked against the file before it is used:
 * entries must lie inside the archive, before the central directory, and must not overlap.
 * torch writes entries uncompressed ("stored"); deflated entries (a re-zipped archive) are inflated with
 * fflate (the same in Node and the browser), capped at their declared size.
 */
import { inflateSync } from 'fflate';
import { checkRange, type RandomAccess } from '../access.js';
import { fileAccess } from '../file-access.js';
import { crc32 } from './crc32.js';

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the local header. */
  headerOffset: number;
  /** Offset of the entry's data (after the local header); resolved when the archive is opened. */
  dataOffset: number;
}

const SIG_EOCD = 0x06054b50, SIG_EOCD64 = 0x06064b50, SIG_LOC64 = 0x07064b50, SIG_CEN = 0x02014b50, SIG_LOC = 0x04034b50;
const MAX_ENTRIES = 1_000_000;

const utf8 = new TextDecoder();

/** Little-endian field readers over a byte array. */
class Fields {
  private dv: DataView;
  constructor(readonly b: Uint8Array) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u16(at: number): number {
    return this.dv.getUint16(at, true);
  }
  u32(at: number): number {
    return this.dv.getUint32(at, true);
  }
  u64(at: number): number {
    const v = this.dv.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('zip64 field out of range');
    return Number(v);
  }
  get length(): number {
    return this.b.length;
  }
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  readonly size: number;
  private file: RandomAccess;

  /** Opens `path` on disk, or reads the archive through `file` (then `path` only names it). */
  constructor(readonly path: string, file?: RandomAccess) {
    this.file = file ?? fileAccess(path);
    try {
      this.size = this.file.size;
      this.readDirectory();
    } catch (e) {
      this.file.close();
      throw e;
    }
  }

  close(): void {
    this.file.close();
  }

  /** Reads `length` bytes at `offset` of the archive (checked to lie inside it), into `into` where it can. */
  private pread(offset: number, length: number, into?: Uint8Array): Uint8Array {
    try {
      checkRange(offset, length, this.size);
    } catch {
      throw new Error(`zip archive is truncated or corrupt (needs bytes ${offset}..${offset + length} of ${this.size})`);
    }
    return this.file.read(offset, length, into);
  }

  private readDirectory(): void {
    if (this.size < 22) throw new Error('not a complete zip archive (too short; truncated?)');
    // the end-of-central-directory record sits in the last 22 + 65535 (comment) bytes
    const tailLen = Math.min(this.size, 22 + 65535);
    const tail = new Fields(this.pread(this.size - tailLen, tailLen));
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.u32(i) === SIG_EOCD && i + 22 + tail.u16(i + 20) === tailLen) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new Error('not a complete zip archive (no end of central directory; truncated?)');
    const eocdOffset = this.size - tailLen + at;
    let count = tail.u16(at + 10);
    let cdSize = tail.u32(at + 12);
    let cdOffset = tail.u32(at + 16);
    let cdEnd = eocdOffset;
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      if (eocdOffset < 20) throw new Error('zip64 locator missing');
      const loc = new Fields(this.pread(eocdOffset - 20, 20));
      if (loc.u32(0) !== SIG_LOC64) throw new Error('zip64 locator missing');
      const recOffset = loc.u64(8);
      const rec = new Fields(this.pread(recOffset, 56));
      if (rec.u32(0) !== SIG_EOCD64) throw new Error('zip64 end of central directory is corrupt');
      count = rec.u64(32);
      cdSize = rec.u64(40);
      cdOffset = rec.u64(48);
      cdEnd = recOffset;
    }
    if (count > MAX_ENTRIES) throw new Error(`zip archive claims ${count} entries`);
    if (cdOffset + cdSize > cdEnd) throw new Error(`zip central directory (${cdOffset}+${cdSize}) runs past its end record at ${cdEnd}`);
    const cd = new Fields(this.pread(cdOffset, cdSize));
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.u32(p) !== SIG_CEN) throw new Error(`zip central directory entry ${i} is corrupt`);
      const flags = cd.u16(p + 8), method = cd.u16(p + 10), crc = cd.u32(p + 16);
      let csize = cd.u32(p + 20), usize = cd.u32(p + 24);
      const nlen = cd.u16(p + 28), xlen = cd.u16(p + 30), clen = cd.u16(p + 32);
      let off = cd.u32(p + 42);
      if (p + 46 + nlen + xlen + clen > cd.length) throw new Error(`zip central directory entry ${i} is corrupt`);
      const name = utf8.decode(cd.b.subarray(p + 46, p + 46 + nlen));
      // zip64 extra field: the 0xffffffff fields, in order usize, csize, offset
      let x = p + 46 + nlen;
      const xEnd = x + xlen;
      while (x + 4 <= xEnd) {
        const id = cd.u16(x), len = cd.u16(x + 2);
        if (x + 4 + len > xEnd) throw new Error(`zip entry ${name}: corrupt extra field`);
        if (id === 1) {
          let q = x + 4;
          const take = (): number => {
            if (q + 8 > x + 4 + len) throw new Error(`zip entry ${name}: short zip64 field`);
            const v = cd.u64(q);
            q += 8;
            return v;
          };
          if (usize === 0xffffffff) usize = take();
          if (csize === 0xffffffff) csize = take();
          if (off === 0xffffffff) off = take();
        }
        x += 4 + len;
      }
      p += 46 + nlen + xlen + clen;
      if (flags & 1) throw new Error(`zip entry ${name} is encrypted`);
      if (method !== 0 && method !== 8) throw new Error(`zip entry ${name} uses compression method ${method} (only stored and deflate are read)`);
      if (method === 0 && csize !== usize) throw new Error(`zip entry ${name}: stored entry with ${csize} ≠ ${usize} bytes`);
      if (this.entries.has(name)) throw new Error(`zip archive has two entries named ${name}`);
      this.entries.set(name, { name, method, crc, compressedSize: csize, size: usize, headerOffset: off, dataOffset: -1 });
    }
    // local headers: where each entry's data starts; data must end before the central directory
    const ranges: [number, number, string][] = [];
    for (const e of this.entries.values()) {
      if (e.headerOffset + 30 > cdOffset) throw new Error(`zip entry ${e.name} points outside the archive (offset ${e.headerOffset})`);
      const lh = new Fields(this.pread(e.headerOffset, 30));
      if (lh.u32(0) !== SIG_LOC) throw new Error(`zip entry ${e.name}: no local header at offset ${e.headerOffset}`);
      e.dataOffset = e.headerOffset + 30 + lh.u16(26) + lh.u16(28);
      if (e.dataOffset + e.compressedSize > cdOffset) {
        throw new Error(`zip entry ${e.name} (${e.compressedSize} bytes at ${e.dataOffset}) runs past the archive's data (${cdOffset} bytes)`);
      }
      ranges.push([e.headerOffset, e.dataOffset + e.compressedSize, e.name]);
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i][0] < ranges[i - 1][1]) throw new Error(`zip entries ${ranges[i - 1][2]} and ${ranges[i][2]} overlap`);
    }
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no entry ${name} in the archive`);
    return e;
  }

  /** The whole entry, decompressed, its CRC checked. `limit` caps the size accepted. */
  read(name: string, limit = Infinity): Uint8Array {
    const e = this.entry(name);
    if (e.size > limit) throw new Error(`zip entry ${name} is ${e.size} bytes (limit ${limit})`);
    const raw = this.pread(e.dataOffset, e.compressedSize);
    let data = raw;
    if (e.method === 8) {
      try {
        // one byte of room past the declared size: a longer stream is caught without inflating all of it
        data = inflateSync(raw, { out: new Uint8Array(e.size + 1) });
      } catch {
        throw new Error(`zip entry ${name}: corrupt deflate data`);
      }
      if (data.length !== e.size) throw new Error(`zip entry ${name}: inflates to ${data.length > e.size ? 'more than ' : ''}${data.length} bytes, header says ${e.size}`);
    }
    if (crc32(data) !== e.crc) throw new Error(`zip entry ${name}: CRC mismatch (corrupt archive)`);
    return data;
  }

  /**
   * Bytes [start, start + length) of an entry. Stored entries are read in place (the CRC is checked when
   * the range is the whole entry); deflated ones are inflated whole first. `into`: a buffer a stored range
   * may be read into (see RandomAccess.read).
   */
  readRange(name: string, start: number, length: number, into?: Uint8Array): Uint8Array {
    const e = this.entry(name);
    if (start < 0 || length < 0 || start + length > e.size) throw new Error(`bytes ${start}..${start + length} lie outside entry ${name} (${e.size} bytes)`);
    if (e.method !== 0) return this.read(name).subarray(start, start + length);
    const b = this.pread(e.dataOffset + start, length, into);
    if (start === 0 && length === e.size && crc32(b) !== e.crc) throw new Error(`zip entry ${name}: CRC mismatch (corrupt archive)`);
    return b;
  }
}
