/**
 * The .bgpz container (docs/compression.md). Version 2: signature "BG" and the version byte; the original
 * length; 2 bytes of the model id; one byte holding the extension's length (low 7 bits) and whether a window
 * rule other than the model's default follows (bit 7); the extension; that rule if any; a check value; then
 * one block per group of windows, each stored or range-coded, the last block's payload running to the end.
 * The check value is the CRC-32 of the original bytes xor the CRC-32 of the container with the check zeroed:
 * it fails when any byte of the file is changed, and when decoding does not reproduce the original.
 * Version 3 is version 2 with a segment length and a group size (varints) before the check value: the file is
 * cut into segments of that length, each coded from its own header patch with its own windows and blocks,
 * so that a decoder can decode them side by side; each group of that many segments shares one match model
 * (codec.encodeGroup says in which order). The blocks follow segment by segment. Files no longer than one
 * segment are version 2.
 * Version 1 ("BGPZ", 8-byte model id, the rule always written) is still read.
 */
import { crc32 } from '../io/pth/crc32.js';

export const SIGNATURE = [0x42, 0x47]; // "BG"
export const FORMAT_VERSION = 2;
export const SEGMENTED_VERSION = 3;
/** Bytes of the model id a container keeps: a wrong model is refused before decoding 65535 times in 65536; the check value catches the rest. */
export const MODEL_ID_BYTES = 2;
const V1_SIGNATURE = [0x42, 0x47, 0x50, 0x5a]; // "BGPZ"
const V1_MODEL_ID_BYTES = 8;
const RULE_FLAG = 0x80;
/** Longest extension a container holds (the model sees only its first patch of bytes anyway). */
export const MAX_EXT_BYTES = 0x7f;

export const enum Method {
  Stored = 0,
  /** Range-coded with the byte model's frequencies (written before matched blocks existed; still read). */
  Modelled = 1,
  /** Range-coded with the byte model's frequencies reshaped by the match model (match-model.ts). */
  Matched = 2,
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
  /** The model id as stored: MODEL_ID_BYTES bytes (8 in version 1), a prefix of codec.modelId. */
  modelId: Uint8Array;
  /** The window rule; null: the model's default (codec.defaultRule), which version 2 does not write. */
  rule: WindowRule | null;
  ext: string;
  /** Bytes per segment (version 3); null: the whole file is one segment. */
  segment?: number | null;
  /** Segments per group sharing a match model (version 3). */
  group?: number | null;
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
    const out = new Uint8Array(this.chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
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

/**
 * Writes a version-2 header, or version 3 when `segment` is set; `rule` is written only when it is not
 * `implicit` (the model's default).
 */
export function writeHeader(w: Writer, h: Header, implicit?: WindowRule): void {
  const ext = new TextEncoder().encode(h.ext);
  if (ext.length > MAX_EXT_BYTES) throw new Error(`extension longer than ${MAX_EXT_BYTES} bytes`);
  const rule = h.rule && !(implicit && sameRule(h.rule, implicit)) ? h.rule : null;
  const version = h.segment ? SEGMENTED_VERSION : FORMAT_VERSION;
  w.bytes(Uint8Array.from(SIGNATURE)).byte(version).varint(h.length).bytes(h.modelId.subarray(0, MODEL_ID_BYTES));
  w.byte(ext.length | (rule ? RULE_FLAG : 0)).bytes(ext);
  if (rule) w.varint(rule.window).varint(rule.carry).varint(rule.blockWindows);
  if (h.segment) w.varint(h.segment).varint(h.group ?? 1);
  w.u32(h.check);
}

const utf8 = (b: Uint8Array) => new TextDecoder().decode(b);

const sameRule = (a: WindowRule, b: WindowRule) => a.window === b.window && a.carry === b.carry && a.blockWindows === b.blockWindows;

export function readHeader(r: Reader): Header {
  const starts = (sig: number[]) => r.left > sig.length && sig.every((m, i) => r.buf[i] === m);
  const v1 = starts(V1_SIGNATURE);
  // "BG" then a small version byte: later versions get their own message, anything else is not a container
  if (!v1 && !(starts(SIGNATURE) && r.buf[SIGNATURE.length] < 0x20)) throw new Error('not a .bgpz file (no BGPZ signature)');
  r.pos = v1 ? V1_SIGNATURE.length : SIGNATURE.length;
  const version = r.byte();
  if (v1 ? version !== 1 : version !== FORMAT_VERSION && version !== SEGMENTED_VERSION) {
    throw new Error(`.bgpz format version ${version} is not supported (this bgpt reads versions 1 to ${SEGMENTED_VERSION})`);
  }
  const length = r.varint();
  const modelId = r.bytes(v1 ? V1_MODEL_ID_BYTES : MODEL_ID_BYTES);
  const readRule = () => {
    const rule = { window: r.varint(), carry: r.varint(), blockWindows: r.varint() };
    if (rule.window < 2 || rule.carry < 1 || rule.carry >= rule.window || rule.blockWindows < 1) throw new Error('corrupt header (window rule)');
    return rule;
  };
  let rule: WindowRule | null = null, ext: string;
  if (v1) {
    rule = readRule();
    ext = utf8(r.bytes(r.byte()));
  } else {
    const e = r.byte();
    ext = utf8(r.bytes(e & MAX_EXT_BYTES));
    if (e & RULE_FLAG) rule = readRule();
  }
  let segment: number | null = null, group: number | null = null;
  if (version === SEGMENTED_VERSION) {
    if ((segment = r.varint()) === 0) throw new Error('corrupt header (segment length 0)');
    if ((group = r.varint()) === 0) throw new Error('corrupt header (group of 0 segments)');
  }
  const checkAt = r.pos;
  return { length, modelId, rule, ext, segment, group, check: r.u32(), checkAt };
}

/** The check value of a container whose check field (4 bytes at `at`) holds zeros, for original bytes `data`. */
export function checkValue(container: Uint8Array, at: number, data: Uint8Array): number {
  const zero = new Uint8Array(4);
  const c = crc32(container.subarray(at + 4), crc32(zero, crc32(container.subarray(0, at))));
  return (c ^ crc32(data)) >>> 0;
}
