/**
 * Bytes ⇄ .bgpz with a byte model (docs/compression.md). A file of n bytes is D = ⌈n/S⌉ data patches after a
 * header patch carrying its extension. Window 0 is the header and data patches 0 … L−2 (L−1 new patches);
 * each later window carries C already-coded patches of context and adds L−C new ones, like the body windows
 * the model was trained on. A file longer than a segment is cut into segments coded as files of their own.
 * The encoder computes each window in one teacher-forced batch; the decoder decodes byte by byte with
 * key/value caches, many segments and files side by side as the lanes of one batch; the exact kernels make
 * every row's frequencies the same bits however it is batched.
 */
import { deflateSync } from 'fflate';
import type { BgptModel } from '../model/bgpt.js';
import { EOP } from '../model/config.js';
import { headerPatch } from '../data/patches.js';
import { Method, Reader, Writer, checkValue, readHeader, writeHeader, type Header, type WindowRule } from './container.js';
import type { Cache, ExactBgpt } from './exact-model.js';
import { MatchModel } from './match-model.js';
import { RangeDecoder, RangeEncoder } from './range-coder.js';
import { Sha256 } from '../util/sha256.js';

/** About this many new bytes per block: small enough to fall back to storing locally, large enough to cost nothing. */
export const BLOCK_BYTES = 65536;
/** Blocks at least this long that deflate cannot shrink are stored without running the model (random data). */
const PRECHECK_BYTES = 4096;
/** Bytes per segment of a longer file (a multiple of every patch size): each is decoded in a lane of its own. */
export const SEGMENT_BYTES = 65536;
/** Lanes decoded side by side at most (each holds a patch-level cache and the match model's 8 MiB of tables). */
export const MAX_LANES = 32;

export interface CodecOptions {
  /** 'auto' (default): store blocks the model does not shrink; 'never': always code with the model. */
  store?: 'auto' | 'never';
  /** Called after each window with the bytes done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** New bytes per block when compressing (default BLOCK_BYTES; the decoder reads the rule from the file). */
  blockBytes?: number;
  /** Bytes per segment when compressing (default SEGMENT_BYTES, rounded down to whole patches; 0: one segment). */
  segmentBytes?: number;
}

/** An incremental SHA-256. */
export interface Hash {
  update(data: Uint8Array | string): Hash;
  digest(): Uint8Array;
}

let newHash: () => Hash = () => new Sha256();

/** Where model ids get their SHA-256 from (Node's native one hashes a model's weights in a tenth of the time). */
export function useHash(f: () => Hash): void {
  newHash = f;
}

/** The model's identity: SHA-256 of its configuration and every tensor, by name, cut to 8 bytes (containers keep a prefix). */
const ids = new WeakMap<BgptModel, Uint8Array>();
export function modelId(model: BgptModel): Uint8Array {
  let id = ids.get(model);
  if (!id) {
    const c = model.cfg; // named in a fixed order: the same weights loaded from any file give the same id
    const h = newHash().update(`bgpt S=${c.patchSize} L=${c.patchLength} H=${c.hidden} ${c.patchLayers}+${c.byteLayers} heads=${c.heads}`);
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

function compressible(raw: Uint8Array): boolean {
  return raw.length < PRECHECK_BYTES || deflateSync(raw, { level: 1 }).length < raw.length;
}

/** Bytes per segment for a file of `n` bytes: null when it is one segment. */
function segmentOf(n: number, S: number, opts: CodecOptions): number | null {
  const want = opts.segmentBytes ?? SEGMENT_BYTES;
  const seg = want > 0 ? Math.max(S, Math.floor(want / S) * S) : 0;
  return seg > 0 && n > seg ? seg : null;
}

/** Codes one segment (or a whole file) as blocks; the last block of the file writes no length. */
function encodeSegment(ex: ExactBgpt, data: Uint8Array, header: Int32Array, rule: WindowRule, w: Writer, lastSegment: boolean, opts: CodecOptions, progress: (done: number) => void): void {
  const S = ex.cfg.patchSize, wins = windowsOf(Math.ceil(data.length / S), rule);
  const mm = new MatchModel(data);
  for (let b0 = 0; b0 < wins.length; b0 += rule.blockWindows) {
    const block = wins.slice(b0, b0 + rule.blockWindows), last = lastSegment && b0 + rule.blockWindows >= wins.length;
    const start = block[0].a * S, raw = data.subarray(start, Math.min(data.length, block[block.length - 1].b * S));
    let payload: Uint8Array | null = null;
    if (opts.store === 'never' || compressible(raw)) {
      const before = mm.snapshot(), enc = new RangeEncoder();
      for (const win of block) {
        encodeWindow(ex, data, win, header, enc, mm);
        progress(Math.min(data.length, win.b * S));
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
    if (!payload) progress(start + raw.length);
  }
}

/** Compresses `data`; `ext` is the extension the model sees in the header patch (and is stored). */
export function compressBytes(ex: ExactBgpt, data: Uint8Array, ext: string, opts: CodecOptions = {}): Uint8Array {
  const S = ex.cfg.patchSize, rule = defaultRule(ex, opts.blockBytes), header = headerPatch(ext, S);
  const segment = segmentOf(data.length, S, opts), seg = segment ?? Math.max(1, data.length);
  const w = new Writer();
  writeHeader(w, { length: data.length, modelId: modelId(ex.model), rule, ext, segment, check: 0 }, defaultRule(ex));
  const checkAt = w.length - 4;
  for (let s0 = 0; s0 < data.length; s0 += seg) {
    const part = data.subarray(s0, Math.min(data.length, s0 + seg));
    encodeSegment(ex, part, header, rule, w, s0 + seg >= data.length, opts, (d) => opts.onProgress?.(s0 + d, data.length));
  }
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset).setUint32(checkAt, checkValue(out, checkAt, data), true);
  return out;
}

interface Block {
  method: number;
  payload: Uint8Array;
}

/** One segment of a container being decoded: its bytes (a view of the output), windows and blocks. */
interface Lane {
  file: number;
  out: Uint8Array;
  header: Int32Array;
  rule: WindowRule;
  wins: Win[];
  blocks: Block[];
  mm: MatchModel;
  /** The range decoder of the block being decoded (null: stored). */
  dec: RangeDecoder | null;
  matched: boolean;
  /** Its slot in the caches, the window and the patch it is at, and the byte decoded last. */
  slot: number;
  w: number;
  p: number;
  prev: number;
  /** Why the lane stopped (its file is corrupt); the other lanes go on. */
  error: Error | null;
}

/** The container's header and its segments as lanes; every length is checked before anything is decoded. */
function parse(ex: ExactBgpt, buf: Uint8Array, file: number): { h: Header; out: Uint8Array; lanes: Lane[] } {
  const r = new Reader(buf), h = readHeader(r), S = ex.cfg.patchSize;
  const id = modelId(ex.model).subarray(0, h.modelId.length);
  if (hex(h.modelId) !== hex(id)) throw new Error(`compressed with another model (model id ${hex(h.modelId)}; this model is ${hex(id)})`);
  const rule = h.rule ?? defaultRule(ex);
  if (rule.window > ex.cfg.patchLength) throw new Error('corrupt header (window longer than the model\'s context)');
  if (h.segment && h.segment % S !== 0) throw new Error(`corrupt header (segment length ${h.segment} is not a multiple of the patch size ${S})`);
  let out: Uint8Array;
  try {
    out = new Uint8Array(h.length);
  } catch {
    throw new Error(`corrupt header (length ${h.length})`);
  }
  const header = headerPatch(h.ext, S), seg = h.segment ?? Math.max(1, h.length), lanes: Lane[] = [];
  for (let s0 = 0; s0 < h.length; s0 += seg) {
    const part = out.subarray(s0, Math.min(h.length, s0 + seg)), wins = windowsOf(Math.ceil(part.length / S), rule);
    const blocks: Block[] = [];
    for (let b0 = 0; b0 < wins.length; b0 += rule.blockWindows) {
      const last = s0 + seg >= h.length && b0 + rule.blockWindows >= wins.length;
      const method = r.byte(), payload = r.bytes(last ? r.left : r.varint());
      const end = Math.min(part.length, wins[Math.min(wins.length, b0 + rule.blockWindows) - 1].b * S);
      if (method === Method.Stored && payload.length !== end - wins[b0].a * S) throw new Error('corrupt file (stored block of the wrong size)');
      if (method !== Method.Stored && method !== Method.Modelled && method !== Method.Matched) throw new Error(`corrupt file (unknown block method ${method})`);
      blocks.push({ method, payload });
    }
    lanes.push({ file, out: part, header, rule, wins, blocks, mm: new MatchModel(part), dec: null, matched: false, slot: 0, w: -1, p: 0, prev: 0, error: null });
  }
  if (r.left !== 0) throw new Error('corrupt file (data after the last block)');
  return { h, out, lanes };
}

/** Starts lane's block of window w when one begins there; true when the window is to be decoded by the model. */
function enterWindow(lane: Lane, w: number, S: number): boolean {
  const bw = lane.rule.blockWindows;
  const block = lane.blocks[Math.floor(w / bw)];
  if (w % bw === 0) {
    if (block.method === Method.Stored) {
      const start = lane.wins[w].a * S;
      lane.out.set(block.payload, start);
      for (let i = start; i < start + block.payload.length; i++) lane.mm.update(i);
      lane.dec = null;
    } else {
      lane.dec = new RangeDecoder(block.payload);
      lane.matched = block.method === Method.Matched;
    }
  }
  return lane.dec !== null;
}

/** After window w: a coded block that ends there must have been read to its end (else the lane stops). */
function leaveWindow(lane: Lane, w: number): void {
  const bw = lane.rule.blockWindows;
  if (lane.dec && ((w + 1) % bw === 0 || w + 1 === lane.wins.length)) {
    // the coder's trailing zero bytes are not stored (the decoder reads zeros past the end): it reads at least the payload
    if (lane.dec.consumed < lane.blocks[Math.floor(w / bw)].payload.length) lane.error = new Error('corrupt file (coded block of the wrong size)');
    lane.dec = null;
  }
}

/**
 * Decodes lanes side by side, a patch per round. At the start of a round each lane gets the feature that
 * predicts its next patch: a lane entering a window computes the window's context (one batch per context
 * length), the others add the patch they decoded last to their cache (one row each). Then the S byte
 * positions of all lanes are decoded as batches of one row per lane. A lane that is done frees its slot for
 * the next lane of the queue at the next round.
 */
function decodeLanes(ex: ExactBgpt, queue: Lane[], onWindow: (lane: Lane, w: number) => void): void {
  const { patchSize: S, hidden: H } = ex.cfg, n = Math.min(MAX_LANES, queue.length);
  const pc = ex.newPatchCache(n), bc = ex.newByteCache(n), feat = new Float32Array(n * H);
  const free = Array.from({ length: n }, (_, i) => n - 1 - i);
  // to the lane's next window that the model decodes (filling in stored blocks on the way); false: it is done
  const advance = (l: Lane): boolean => {
    for (;;) {
      if (l.w >= 0) {
        leaveWindow(l, l.w);
        onWindow(l, l.w);
      }
      if (l.error || ++l.w >= l.wins.length) return false;
      if (enterWindow(l, l.w, S)) {
        l.p = l.wins[l.w].a;
        return true;
      }
    }
  };
  const slotsOf = (ls: Lane[]) => Int32Array.from(ls, (l) => l.slot);
  let active: Lane[] = [], next = 0;
  for (;;) {
    const starting: Lane[] = [], stepping: Lane[] = [], kept: Lane[] = [];
    for (const l of active) {
      if (l.p < l.wins[l.w].b) stepping.push(l);
      else if (advance(l)) starting.push(l);
      else {
        free.push(l.slot);
        continue;
      }
      kept.push(l);
    }
    while (free.length && next < queue.length) {
      const l = queue[next++];
      l.slot = free.pop()!;
      l.w = -1;
      if (advance(l)) kept.push(l), starting.push(l);
      else free.push(l.slot);
    }
    if (!(active = kept).length) return;
    if (stepping.length) {
      const t = new Int32Array(stepping.length * S);
      stepping.forEach((l, i) => t.set(tokensOf(l.out, l.p - 1, l.p, S, l.header), i * S));
      const F = ex.patchFeatures(t, 1, pc, slotsOf(stepping));
      stepping.forEach((l, i) => feat.set(F.subarray(i * H, i * H + H), l.slot * H));
    }
    for (const R0 of new Set(starting.map((l) => l.wins[l.w].a - l.wins[l.w].ctx))) {
      const g = starting.filter((l) => l.wins[l.w].a - l.wins[l.w].ctx === R0), tokens = new Int32Array(g.length * R0 * S);
      g.forEach((l, i) => {
        pc.lengths[l.slot] = 0;
        tokens.set(tokensOf(l.out, l.wins[l.w].ctx, l.wins[l.w].a, S, l.header), i * R0 * S);
      });
      const F = ex.patchFeatures(tokens, R0, pc, slotsOf(g));
      g.forEach((l, i) => feat.set(F.subarray((i * R0 + R0 - 1) * H, (i * R0 + R0) * H), l.slot * H));
    }
    for (const l of active) bc.lengths[l.slot] = 0;
    for (let s = 0; s < S; s++) {
      const rows = s === 0 ? active : active.filter((l) => l.p * S + s < l.out.length);
      if (!rows.length) break;
      let x = feat;
      if (s === 0) {
        x = new Float32Array(rows.length * H);
        rows.forEach((l, j) => x.set(feat.subarray(l.slot * H, l.slot * H + H), j * H));
      }
      const f = ex.stepFreqs(bc, slotsOf(rows), x, Int32Array.from(rows, (l) => l.prev));
      rows.forEach((l, j) => {
        const i = l.p * S + s, fj = f.subarray(j * 256, j * 256 + 256);
        l.prev = l.out[i] = l.dec!.decode(l.matched ? l.mm.adjust(fj) : fj);
        if (l.matched) l.mm.update(i); // a modelled block (older files) codes with the byte model alone
      });
    }
    for (const l of active) l.p++;
  }
}

export interface DecodeResult {
  bytes: Uint8Array;
  ext: string;
}

/**
 * Decompresses many .bgpz made with the same model, their segments side by side (at most MAX_LANES at a
 * time). Each container's result is its bytes, or the error that stopped
 * it (a corrupt file does not stop the others). `onProgress(i, done, total)` reports container i.
 */
export function decompressMany(
  ex: ExactBgpt, bufs: Uint8Array[], opts: { onProgress?: (i: number, done: number, total: number) => void } = {},
): (DecodeResult | Error)[] {
  const S = ex.cfg.patchSize;
  const files = bufs.map((buf, i) => {
    try {
      return parse(ex, buf, i);
    } catch (e) {
      return e as Error;
    }
  });
  const done = bufs.map(() => 0), failed: (Error | null)[] = files.map((f) => (f instanceof Error ? f : null));
  // the longest first: short lanes fill the slots that free up, and the end is not one long lane alone
  const lanes = files.flatMap((f) => (f instanceof Error ? [] : f.lanes)).sort((x, y) => y.out.length - x.out.length);
  decodeLanes(ex, lanes, (l, w) => {
    const before = Math.min(l.out.length, (w > 0 ? l.wins[w - 1].b : 0) * S);
    done[l.file] += Math.min(l.out.length, l.wins[w].b * S) - before;
    opts.onProgress?.(l.file, done[l.file], (files[l.file] as { h: Header }).h.length);
  });
  for (const l of lanes) failed[l.file] ??= l.error;
  return files.map((f, i) => {
    if (failed[i]) return failed[i]!;
    const { h, out } = f as { h: Header; out: Uint8Array };
    if (checkValue(bufs[i], h.checkAt!, out) !== h.check) return new Error('corrupt file (checksum mismatch)');
    return { bytes: out, ext: h.ext };
  });
}

/** Decompresses a .bgpz made with the same model; returns the bytes and the stored extension. */
export function decompressBytes(ex: ExactBgpt, buf: Uint8Array, opts: CodecOptions = {}): DecodeResult {
  const [r] = decompressMany(ex, [buf], { onProgress: opts.onProgress && ((_, d, t) => opts.onProgress!(d, t)) });
  if (r instanceof Error) throw r;
  return r;
}
