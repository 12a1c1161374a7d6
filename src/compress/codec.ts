/**
 * Bytes ⇄ .bgpz with a byte model (docs/compression.md). A file of n bytes is D = ⌈n/S⌉ data patches after a
 * header patch carrying its extension. Window 0 is the header and data patches 0 … L−2 (L−1 new patches);
 * each later window carries C already-coded patches of context and adds L−C new ones, like the body windows
 * the model was trained on. The encoder computes each window in one teacher-forced batch; the decoder
 * decodes byte by byte with key/value caches; the exact kernels make both give the same frequencies.
 */
import { deflateSync } from 'fflate';
import type { BgptModel } from '../model/bgpt.js';
import { EOP } from '../model/config.js';
import { headerPatch } from '../data/patches.js';
import { Method, Reader, Writer, checkValue, readHeader, writeHeader, type WindowRule } from './container.js';
import type { ExactBgpt } from './exact-model.js';
import { MatchModel } from './match-model.js';
import { RangeDecoder, RangeEncoder } from './range-coder.js';
import { Sha256 } from '../util/sha256.js';

/** About this many new bytes per block: small enough to fall back to storing locally, large enough to cost nothing. */
export const BLOCK_BYTES = 65536;
/** Blocks at least this long that deflate cannot shrink are stored without running the model (random data). */
const PRECHECK_BYTES = 4096;

export interface CodecOptions {
  /** 'auto' (default): store blocks the model does not shrink; 'never': always code with the model. */
  store?: 'auto' | 'never';
  /** Called after each window with the bytes done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** New bytes per block when compressing (default BLOCK_BYTES; the decoder reads the rule from the file). */
  blockBytes?: number;
}

/** The model's identity: SHA-256 of its configuration and every tensor, by name, cut to 8 bytes (containers keep a prefix). */
const ids = new WeakMap<BgptModel, Uint8Array>();
export function modelId(model: BgptModel): Uint8Array {
  let id = ids.get(model);
  if (!id) {
    const c = model.cfg; // named in a fixed order: the same weights loaded from any file give the same id
    const h = new Sha256().update(`bgpt S=${c.patchSize} L=${c.patchLength} H=${c.hidden} ${c.patchLayers}+${c.byteLayers} heads=${c.heads}`);
    for (const s of model.layout.specs) {
      const w = model.params.w(s.name);
      h.update(s.name).update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
    }
    ids.set(model, (id = h.digest().slice(0, 8)));
  }
  return id;
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

/**
 * The default rule for a model: its whole context per window, half of it carried, blocks of about 64 KiB.
 * Version-2 containers leave it unwritten, so it is part of the format: it must not change.
 */
export function defaultRule(ex: ExactBgpt, blockBytes = BLOCK_BYTES): WindowRule {
  const { patchLength: L, patchSize: S } = ex.cfg;
  if (L < 2) throw new Error(`the model's context is ${L} patch; compression needs at least 2`);
  const carry = Math.floor(L / 2);
  return { window: L, carry, blockWindows: Math.max(1, Math.floor(blockBytes / ((L - carry) * S))) };
}

/** Data patches [a, b) that window w adds, and where its context starts (−1: the header patch). */
interface Win {
  a: number;
  b: number;
  ctx: number;
}

function windowsOf(D: number, r: WindowRule): Win[] {
  const out: Win[] = [];
  if (D === 0) return out;
  out.push({ a: 0, b: Math.min(D, r.window - 1), ctx: -1 });
  while (out[out.length - 1].b < D) {
    const a = out[out.length - 1].b;
    out.push({ a, b: Math.min(D, a + r.window - r.carry), ctx: a - r.carry });
  }
  return out;
}

/** Tokens of data patches [from, to) (the header patch for index −1), padded with <eop> past the end. */
function tokensOf(data: Uint8Array, from: number, to: number, S: number, header: Int32Array): Int32Array {
  const t = new Int32Array((to - from) * S).fill(EOP);
  for (let p = from; p < to; p++) {
    if (p < 0) t.set(header, (p - from) * S);
    else for (let s = 0; s < S && p * S + s < data.length; s++) t[(p - from) * S + s] = data[p * S + s];
  }
  return t;
}

function encodeWindow(ex: ExactBgpt, data: Uint8Array, w: Win, header: Int32Array, enc: RangeEncoder, mm: MatchModel): void {
  const { patchSize: S, hidden: H } = ex.cfg, M = w.b - w.a;
  // inputs: context and new patches but the last (its feature would predict past the window)
  const F = ex.patchFeatures(tokensOf(data, w.ctx, w.b - 1, S, header), w.b - 1 - w.ctx, null);
  const off = w.a - 1 - w.ctx; // the row whose feature predicts patch a
  const freqs = ex.patchFreqs(F.subarray(off * H, (off + M) * H), tokensOf(data, w.a, w.b, S, header), M);
  const end = Math.min(data.length, w.b * S);
  for (let i = w.a * S; i < end; i++) {
    enc.encode(mm.adjust(freqs.subarray((i - w.a * S) * 256, (i - w.a * S + 1) * 256)), data[i]);
    mm.update(i);
  }
}

/** `mm`: the match model of a matched block (null: a modelled block of an older file, the byte model alone). */
function decodeWindow(ex: ExactBgpt, out: Uint8Array, w: Win, header: Int32Array, dec: RangeDecoder, mm: MatchModel | null): void {
  const { patchSize: S } = ex.cfg;
  const cache = ex.newPatchCache(), bytes = ex.newByteCache();
  let F = ex.patchFeatures(tokensOf(out, w.ctx, w.a, S, header), w.a - w.ctx, cache);
  let feature = F.subarray(F.length - ex.cfg.hidden);
  for (let p = w.a; p < w.b; p++) {
    bytes.length = 0;
    const end = Math.min(out.length, (p + 1) * S);
    let prev = -1;
    for (let i = p * S; i < end; i++) {
      const f = ex.stepFreqs(bytes, feature, prev);
      prev = out[i] = dec.decode(mm ? mm.adjust(f) : f);
      mm?.update(i);
    }
    if (p + 1 < w.b) {
      F = ex.patchFeatures(tokensOf(out, p, p + 1, S, header), 1, cache);
      feature = F;
    }
  }
}

function compressible(raw: Uint8Array): boolean {
  return raw.length < PRECHECK_BYTES || deflateSync(raw, { level: 1 }).length < raw.length;
}

/** Compresses `data`; `ext` is the extension the model sees in the header patch (and is stored). */
export function compressBytes(ex: ExactBgpt, data: Uint8Array, ext: string, opts: CodecOptions = {}): Uint8Array {
  const S = ex.cfg.patchSize, rule = defaultRule(ex, opts.blockBytes), header = headerPatch(ext, S);
  const wins = windowsOf(Math.ceil(data.length / S), rule);
  const w = new Writer();
  writeHeader(w, { length: data.length, modelId: modelId(ex.model), rule, ext, check: 0 }, defaultRule(ex));
  const checkAt = w.length - 4;
  const mm = new MatchModel(data);
  for (let b0 = 0; b0 < wins.length; b0 += rule.blockWindows) {
    const block = wins.slice(b0, b0 + rule.blockWindows), last = b0 + rule.blockWindows >= wins.length;
    const start = block[0].a * S, raw = data.subarray(start, Math.min(data.length, block[block.length - 1].b * S));
    let payload: Uint8Array | null = null;
    if (opts.store === 'never' || compressible(raw)) {
      const before = mm.snapshot(), enc = new RangeEncoder();
      for (const win of block) {
        encodeWindow(ex, data, win, header, enc, mm);
        opts.onProgress?.(Math.min(data.length, win.b * S), data.length);
      }
      payload = enc.finish();
      if (opts.store !== 'never' && payload.length >= raw.length) {
        payload = null;
        // the block's bytes went through the match model either way; what it learned from coding them did not happen
        mm.restore(before);
      }
    } else for (let i = 0; i < raw.length; i++) mm.update(start + i);
    w.byte(payload ? Method.Matched : Method.Stored);
    if (!last) w.varint((payload ?? raw).length);
    w.bytes(payload ?? raw);
    if (!payload) opts.onProgress?.(raw.byteOffset - data.byteOffset + raw.length, data.length);
  }
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset).setUint32(checkAt, checkValue(out, checkAt, data), true);
  return out;
}

/** Decompresses a .bgpz made with the same model; returns the bytes and the stored extension. */
export function decompressBytes(ex: ExactBgpt, buf: Uint8Array, opts: CodecOptions = {}): { bytes: Uint8Array; ext: string } {
  const r = new Reader(buf), h = readHeader(r), S = ex.cfg.patchSize;
  const id = modelId(ex.model).subarray(0, h.modelId.length);
  if (hex(h.modelId) !== hex(id)) throw new Error(`compressed with another model (model id ${hex(h.modelId)}; this model is ${hex(id)})`);
  const rule = h.rule ?? defaultRule(ex);
  if (rule.window > ex.cfg.patchLength) throw new Error('corrupt header (window longer than the model\'s context)');
  let out: Uint8Array;
  try {
    out = new Uint8Array(h.length);
  } catch {
    throw new Error(`corrupt header (length ${h.length})`);
  }
  const header = headerPatch(h.ext, S), wins = windowsOf(Math.ceil(h.length / S), rule), mm = new MatchModel(out);
  for (let b0 = 0; b0 < wins.length; b0 += rule.blockWindows) {
    const block = wins.slice(b0, b0 + rule.blockWindows), last = b0 + rule.blockWindows >= wins.length;
    const start = block[0].a * S, end = Math.min(h.length, block[block.length - 1].b * S);
    const method = r.byte();
    const payload = r.bytes(last ? r.left : r.varint());
    if (method === Method.Stored) {
      if (payload.length !== end - start) throw new Error('corrupt file (stored block of the wrong size)');
      out.set(payload, start);
      for (let i = start; i < end; i++) mm.update(i);
      opts.onProgress?.(end, h.length);
    } else if (method === Method.Modelled || method === Method.Matched) {
      const dec = new RangeDecoder(payload);
      for (const win of block) {
        decodeWindow(ex, out, win, header, dec, method === Method.Matched ? mm : null);
        opts.onProgress?.(Math.min(h.length, win.b * S), h.length);
      }
      // the coder's trailing zero bytes are not stored (the decoder reads zeros past the end): it reads at least the payload
      if (dec.consumed < payload.length) throw new Error('corrupt file (coded block of the wrong size)');
    } else throw new Error(`corrupt file (unknown block method ${method})`);
  }
  if (r.left !== 0) throw new Error('corrupt file (data after the last block)');
  if (checkValue(buf, h.checkAt!, out) !== h.check) throw new Error('corrupt file (checksum mismatch)');
  return { bytes: out, ext: h.ext };
}
