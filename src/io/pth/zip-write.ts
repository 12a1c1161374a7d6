/**
 * Writes a zip archive of stored (uncompressed) entries the way torch.save does: each entry's data aligned to
 * 64 bytes with a padding extra field, zip64 records when sizes or offsets pass 4 GiB, written sequentially
 * to an open file descriptor (so the caller can write atomically and never holds the archive in memory).
 */
import { writeAll } from '../../util/atomic.js';
import { crc32 } from './crc32.js';

const ALIGN = 64;
const MAX32 = 0xffffffff;

interface Written { name: Buffer; crc: number; size: number; offset: number }

export class ZipWriter {
  private pos = 0;
  private done: Written[] = [];

  constructor(private readonly fd: number) {}

  private write(b: Uint8Array): void {
    writeAll(this.fd, b);
    this.pos += b.length;
  }

  /** Adds an entry; `parts` are written back to back (their total is the entry's data). */
  add(name: string, ...parts: Uint8Array[]): void {
    const nameBuf = Buffer.from(name, 'utf8');
    let size = 0, crc = 0;
    for (const p of parts) {
      size += p.length;
      crc = crc32(p, crc);
    }
    const offset = this.pos, zip64 = size >= MAX32 || offset >= MAX32;
    const z64Len = zip64 ? 20 : 0;
    const base = offset + 30 + nameBuf.length + z64Len;
    const pad = (ALIGN - ((base + 4) % ALIGN)) % ALIGN; // padding field = 4-byte header + pad bytes
    const extra = Buffer.alloc(z64Len + 4 + pad);
    if (zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(size), 12);
    }
    extra.writeUInt16LE(0x4246, z64Len); // "FB": torch's alignment padding
    extra.writeUInt16LE(pad, z64Len + 2);
    extra.fill(0x5a, z64Len + 4); // torch pads with 'Z'
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(zip64 ? 45 : 20, 4);
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(zip64 ? MAX32 : size, 18);
    h.writeUInt32LE(zip64 ? MAX32 : size, 22);
    h.writeUInt16LE(nameBuf.length, 26);
    h.writeUInt16LE(extra.length, 28);
    this.write(h);
    this.write(nameBuf);
    this.write(extra);
    for (const p of parts) this.write(p);
    this.done.push({ name: nameBuf, crc, size, offset });
  }

  /** Writes the central directory and end records. */
  finish(): void {
    const cdOffset = this.pos;
    for (const e of this.done) {
      const big = e.size >= MAX32 || e.offset >= MAX32;
      const extra = Buffer.alloc(big ? 28 : 0);
      if (big) {
        extra.writeUInt16LE(1, 0);
        extra.writeUInt16LE(24, 2);
        extra.writeBigUInt64LE(BigInt(e.size), 4);
        extra.writeBigUInt64LE(BigInt(e.size), 12);
        extra.writeBigUInt64LE(BigInt(e.offset), 20);
      }
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE(big ? 45 : 20, 4);
      h.writeUInt16LE(big ? 45 : 20, 6);
      h.writeUInt32LE(e.crc, 16);
      h.writeUInt32LE(big ? MAX32 : e.size, 20);
      h.writeUInt32LE(big ? MAX32 : e.size, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt16LE(extra.length, 30);
      h.writeUInt32LE(big ? MAX32 : e.offset, 42);
      this.write(h);
      this.write(e.name);
      this.write(extra);
    }
    const cdSize = this.pos - cdOffset, n = this.done.length;
    const zip64 = n >= 0xffff || cdOffset >= MAX32 || cdSize >= MAX32;
    if (zip64) {
      const recOffset = this.pos;
      const r = Buffer.alloc(56);
      r.writeUInt32LE(0x06064b50, 0);
      r.writeBigUInt64LE(44n, 4);
      r.writeUInt16LE(45, 12);
      r.writeUInt16LE(45, 14);
      r.writeBigUInt64LE(BigInt(n), 24);
      r.writeBigUInt64LE(BigInt(n), 32);
      r.writeBigUInt64LE(BigInt(cdSize), 40);
      r.writeBigUInt64LE(BigInt(cdOffset), 48);
      this.write(r);
      const l = Buffer.alloc(20);
      l.writeUInt32LE(0x07064b50, 0);
      l.writeBigUInt64LE(BigInt(recOffset), 8);
      l.writeUInt32LE(1, 16);
      this.write(l);
    }
    const e = Buffer.alloc(22);
    e.writeUInt32LE(0x06054b50, 0);
    e.writeUInt16LE(zip64 ? 0xffff : n, 8);
    e.writeUInt16LE(zip64 ? 0xffff : n, 10);
    e.writeUInt32LE(zip64 ? MAX32 : cdSize, 12);
    e.writeUInt32LE(zip64 ? MAX32 : cdOffset, 16);
    this.write(e);
  }
}
