/**
 * The .bgpz container (docs/compression.md): a header naming the format, the original length, the model, the
 * window rule, the extension given to the model and a check value; then one block per group of windows, each
 * stored or range-coded. The last block's payload runs to the end of the file. The check value is the CRC-32
 * of the original bytes xor the CRC-32 of the container with the check zeroed: it fails when any byte of the
 * file is changed, and when decoding does not reproduce the original.
 */
import { crc32 } from '../io/pth/crc32.js';

export const MAGIC = [0x42, 0x47, 0x50, 0x5a]; // "BGPZ"
export const FORMAT_VERSION = 1;
export const MODEL_ID_BYTES = 8;

export const enum Method {
  Stored = 0,
  Modelled = 1,
}

/** How a file is cut into windows of the model's context (the same rule on both sides). */
export interface WindowRule {
  /** Patches per window (≤ the model's L). */
  window: number;
  /** Patches of context carried into each window after the first (1 ≤ carry < window). */
  carry: number;
  /** Windows per block (each block is stored or coded on its own). */
  blockWindows: number;
}

export interface Header {
  length: number;
  modelId: Uint8Array;
  rule: WindowRule;
  ext: string;
  check: number;
  /** Offset of the check value in the container. */
  checkAt?: number;
}

export class Writer {
  private parts: number[] = [];
  private chunks: Uint8Array[] = [];

  byte(b: number): this {
    this.parts.push(b & 0xff);
    return this;
  }

  varint(v: number): this {
    do {
      const b = v % 128;
      v = Math.floor(v / 128);
      this.byte(v > 0 ? b | 128 : b);
    } while (v > 0);
    return this;
  }

  bytes(b: Uint8Array): this {
    this.flush();
    this.chunks.push(b);
    return this;
  }

  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.byte(Math.floor(v / 2 ** (8 * i)));
    return this;
  }

  private flush(): void {
    if (this.parts.length) this.chunks.push(Uint8Array.from(this.parts));
    this.parts = [];
  }

  finish(): Uint8Array {
    this.flush();
    return Buffer.concat(this.chunks);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.chunks.reduce((a, c) => a + c.length, 0) + this.parts.length;
  }
}

export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  get left(): number {
    return this.buf.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('truncated file');
    return this.buf[this.pos++];
  }

  varint(): number {
    let v = 0;
    for (let i = 0; ; i++) {
      const b = this.byte();
      v += (b & 127) * 128 ** i;
      if (!(b & 128)) return v;
      if (i >= 7) throw new Error('corrupt header (a length field is too long)');
    }
  }

  bytes(n: number): Uint8Array {
    if (n > this.left) throw new Error('truncated file');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  u32(): number {
    let v = 0;
    for (let i = 0; i < 4; i++) v += this.byte() * 2 ** (8 * i);
    return v;
  }
}

export function writeHeader(w: Writer, h: Header): void {
  const ext = Buffer.from(h.ext, 'utf8');
  if (ext.length > 255) throw new Error('extension longer than 255 bytes');
  w.bytes(Uint8Array.from(MAGIC)).byte(FORMAT_VERSION).varint(h.length).bytes(h.modelId);
  w.varint(h.rule.window).varint(h.rule.carry).varint(h.rule.blockWindows);
  w.byte(ext.length).bytes(ext).u32(h.check);
}

export function readHeader(r: Reader): Header {
  if (r.left < MAGIC.length || MAGIC.some((m, i) => r.buf[i] !== m)) throw new Error('not a .bgpz file (no BGPZ signature)');
  r.pos = MAGIC.length;
  const version = r.byte();
  if (version !== FORMAT_VERSION) throw new Error(`.bgpz format version ${version} is not supported (this bgpt reads version ${FORMAT_VERSION})`);
  const length = r.varint();
  const modelId = r.bytes(MODEL_ID_BYTES);
  const rule = { window: r.varint(), carry: r.varint(), blockWindows: r.varint() };
  if (rule.window < 2 || rule.carry < 1 || rule.carry >= rule.window || rule.blockWindows < 1) throw new Error('corrupt header (window rule)');
  const ext = Buffer.from(r.bytes(r.byte())).toString('utf8');
  const checkAt = r.pos;
  return { length, modelId, rule, ext, check: r.u32(), checkAt };
}

/** The check value of a container whose check field (4 bytes at `at`) holds zeros, for original bytes `data`. */
export function checkValue(container: Uint8Array, at: number, data: Uint8Array): number {
  const zero = new Uint8Array(4);
  const c = crc32(container.subarray(at + 4), crc32(zero, crc32(container.subarray(0, at))));
  return (c ^ crc32(data)) >>> 0;
}
