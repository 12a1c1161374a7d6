/**
 * Bytes ⇄ .bgpz with a byte model (docs/compression.md). A file of n bytes is D = ⌈n/S⌉ data patches after a
 * header patch carrying its extension. Window 0 is the header and data patches 0 … L−2 (L−1 new patches);
 * each later window carries C already-coded patches of context and adds L−C new ones, like the body windows
 * the model was trained on. A file longer than a segment is cut into segments, each coded from its own header
 * patch, in groups that share a match model.
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
/** Lanes decoded side by side at most (each holds a slot of the caches; each group being decoded, a match model's 8 MiB). */
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

/** The byte model's frequencies of window w's new bytes of `data` [bytes, 256] (valid until the next call). */
function windowFreqs(ex: ExactBgpt, data: Uint8Array, w: Win, header: Int32Array): Int32Array {
  const { patchSize: S, hidden: H } = ex.cfg, M = w.b - w.a;
  // inputs: context and new patches but the last (its feature would predict past the window)
  const F = ex.patchFeatures(tokensOf(data, w.ctx, w.b - 1, S, header), w.b - 1 - w.ctx, null);
  const off = w.a - 1 - w.ctx; // the row whose feature predicts patch a
  return ex.patchFreqs(F.subarray(off * H, (off + M) * H), tokensOf(data, w.a, w.b, S, header), M);
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

interface Block {
  method: number;
  payload: Uint8Array;
}

/**
 * Codes a group of segments (`data` cut every `seg` bytes; one segment: a whole file) side by side, as the
 * decoder will decode them: window by window, a stored segment's bytes first, then the coded segments' bytes
 * one offset at a time, in segment order, through their shared match model. Returns each segment's blocks.
 * A block is stored when deflate cannot shrink it, or when coding did not; the latter is found after the
 * fact, so the group's block is coded again from the match model's state before it (unless it was the only
 * segment coded: then undoing what the cells learned is enough, as for a file of one segment).
 */
function encodeGroup(ex: ExactBgpt, data: Uint8Array, seg: number, header: Int32Array, rule: WindowRule, opts: CodecOptions, progress: (done: number) => void): Block[][] {
  const S = ex.cfg.patchSize, K = Math.max(1, Math.ceil(data.length / seg)), bw = rule.blockWindows;
  const parts = Array.from({ length: K }, (_, k) => data.subarray(k * seg, Math.min(data.length, (k + 1) * seg)));
  const wins = parts.map((p) => windowsOf(Math.ceil(p.length / S), rule));
  const endOf = (k: number, w: number) => Math.min(parts[k].length, wins[k][w].b * S);
  const mm = new MatchModel(data, seg), out: Block[][] = parts.map(() => []);
  for (let w0 = 0; w0 < wins[0].length; w0 += bw) {
    const ks = parts.map((_, k) => k).filter((k) => w0 < wins[k].length);
    const raw = ks.map((k) => parts[k].subarray(wins[k][w0].a * S, endOf(k, Math.min(wins[k].length, w0 + bw) - 1)));
    const stored = raw.map((r) => opts.store !== 'never' && !compressible(r));
    // with one segment coded, what it learned is all a rollback must undo (its bytes reach the tables either way)
    const alone = stored.filter((st) => !st).length <= 1, before = mm.snapshot(!alone);
    for (;;) {
      const enc = stored.map((st) => (st ? null : new RangeEncoder()));
      for (let w = w0; w < w0 + bw && w < wins[ks[0]].length; w++) {
        const here = ks.map((_, j) => j).filter((j) => w < wins[ks[j]].length), a = wins[ks[0]][w].a * S;
        const freqs: Int32Array[] = [];
        for (const j of here) {
          const k = ks[j];
          if (stored[j]) for (let i = a; i < endOf(k, w); i++) mm.update(i, k);
          else freqs[j] = alone ? windowFreqs(ex, parts[k], wins[k][w], header) : windowFreqs(ex, parts[k], wins[k][w], header).slice();
        }
        const end = Math.max(...here.map((j) => endOf(ks[j], w)));
        for (let i = a; i < end; i++) {
          for (const j of here) {
            const k = ks[j];
            if (stored[j] || i >= endOf(k, w)) continue;
            enc[j]!.encode(mm.adjust(freqs[j].subarray((i - a) * 256, (i - a + 1) * 256), k), parts[k][i]);
            mm.update(i, k);
          }
        }
        progress(parts.reduce((t, p, k) => t + (w < wins[k].length ? endOf(k, w) : p.length), 0));
      }
      const payloads = enc.map((e) => e?.finish() ?? null);
      const grown = payloads.map((p, j) => p !== null && opts.store !== 'never' && p.length >= raw[j].length);
      // the bytes went through the match model either way; what it learned from coding them did not happen
      if (grown.includes(true)) mm.restore(before);
      if (alone || !grown.includes(true)) {
        ks.forEach((k, j) => out[k].push(payloads[j] && !grown[j] ? { method: Method.Matched, payload: payloads[j]! } : { method: Method.Stored, payload: raw[j] }));
        break;
      }
      grown.forEach((g, j) => g && (stored[j] = true));
    }
  }
  return out;
}

/** Segments per group of a longer file: they share one match model and are decoded side by side. */
export const GROUP_SEGMENTS = 16;

/** Compresses `data`; `ext` is the extension the model sees in the header patch (and is stored). */
export function compressBytes(ex: ExactBgpt, data: Uint8Array, ext: string, opts: CodecOptions = {}): Uint8Array {
  const S = ex.cfg.patchSize, rule = defaultRule(ex, opts.blockBytes), header = headerPatch(ext, S);
  const segment = segmentOf(data.length, S, opts), seg = segment ?? Math.max(1, data.length), span = segment ? seg * GROUP_SEGMENTS : seg;
  const w = new Writer();
  writeHeader(w, { length: data.length, modelId: modelId(ex.model), rule, ext, segment, group: segment ? GROUP_SEGMENTS : null, check: 0 }, defaultRule(ex));
  const checkAt = w.length - 4;
  for (let g0 = 0; g0 < data.length; g0 += span) {
    const blocks = encodeGroup(ex, data.subarray(g0, Math.min(data.length, g0 + span)), seg, header, rule, opts, (d) => opts.onProgress?.(g0 + d, data.length));
    const lastGroup = g0 + span >= data.length;
    blocks.forEach((bs, k) => bs.forEach((b, i) => {
      w.byte(b.method);
      if (!(lastGroup && k === blocks.length - 1 && i === bs.length - 1)) w.varint(b.payload.length);
      w.bytes(b.payload);
    }));
  }
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset).setUint32(checkAt, checkValue(out, checkAt, data), true);
  return out;
}

/** Segments decoded side by side that share a match model: a file, or a group of a longer file's segments. */
interface Group {
  lanes: Lane[];
  /** The group's bytes (a view of the output) and segment length. */
  data: Uint8Array;
  seg: number;
  /** Made when the group starts decoding and dropped when it is done (8 MiB of tables each). */
  mm: MatchModel | null;
  /** The window its lanes are at (−1: not started). */
  w: number;
}

/** One segment of a container being decoded: its bytes (a view of the output), windows and blocks. */
interface Lane {
  file: number;
  group: Group;
  /** Its place in the group. */
  k: number;
  out: Uint8Array;
  header: Int32Array;
  rule: WindowRule;
  wins: Win[];
  blocks: Block[];
  /** The range decoder of the block being decoded (null: stored). */
  dec: RangeDecoder | null;
  matched: boolean;
  /** Its slot in the caches, the patch it is at, and the byte decoded last. */
  slot: number;
  p: number;
  prev: number;
  /** Why the lane stopped (its file is corrupt). */
  error: Error | null;
}

/** The container's header and its segments as groups of lanes; every length is checked before anything is decoded. */
function parse(ex: ExactBgpt, buf: Uint8Array, file: number): { h: Header; out: Uint8Array; groups: Group[] } {
  const r = new Reader(buf), h = readHeader(r), S = ex.cfg.patchSize;
  const id = modelId(ex.model).subarray(0, h.modelId.length);
  if (hex(h.modelId) !== hex(id)) throw new Error(`compressed with another model (model id ${hex(h.modelId)}; this model is ${hex(id)})`);
  const rule = h.rule ?? defaultRule(ex);
  if (rule.window > ex.cfg.patchLength) throw new Error('corrupt header (window longer than the model\'s context)');
  if (h.segment && h.segment % S !== 0) throw new Error(`corrupt header (segment length ${h.segment} is not a multiple of the patch size ${S})`);
  if (h.group && h.group > MAX_LANES) throw new Error(`corrupt header (groups of ${h.group} segments; at most ${MAX_LANES})`);
  let out: Uint8Array;
  try {
    out = new Uint8Array(h.length);
  } catch {
    throw new Error(`corrupt header (length ${h.length})`);
  }
  const header = headerPatch(h.ext, S), seg = h.segment ?? Math.max(1, h.length), span = h.segment ? seg * (h.group ?? 1) : seg;
  const groups: Group[] = [];
  for (let g0 = 0; g0 < h.length; g0 += span) {
    const data = out.subarray(g0, Math.min(h.length, g0 + span)), g: Group = { lanes: [], data, seg, mm: null, w: -1 };
    for (let k = 0; k * seg < data.length; k++) {
      const part = data.subarray(k * seg, Math.min(data.length, (k + 1) * seg)), wins = windowsOf(Math.ceil(part.length / S), rule);
      const blocks: Block[] = [];
      for (let b0 = 0; b0 < wins.length; b0 += rule.blockWindows) {
        const last = g0 + span >= h.length && (k + 1) * seg >= data.length && b0 + rule.blockWindows >= wins.length;
        const method = r.byte(), payload = r.bytes(last ? r.left : r.varint());
        const end = Math.min(part.length, wins[Math.min(wins.length, b0 + rule.blockWindows) - 1].b * S);
        if (method === Method.Stored && payload.length !== end - wins[b0].a * S) throw new Error('corrupt file (stored block of the wrong size)');
        if (method !== Method.Stored && method !== Method.Modelled && method !== Method.Matched) throw new Error(`corrupt file (unknown block method ${method})`);
        blocks.push({ method, payload });
      }
      g.lanes.push({ file, group: g, k, out: part, header, rule, wins, blocks, dec: null, matched: false, slot: 0, p: 0, prev: 0, error: null });
    }
    groups.push(g);
  }
  if (r.left !== 0) throw new Error('corrupt file (data after the last block)');
  return { h, out, groups };
}

/**
 * Starts lane's window w: the block it begins, and a stored block's bytes for the window (known to the
 * match model at once). True when the window is to be decoded by the model.
 */
function enterWindow(lane: Lane, w: number, S: number): boolean {
  const bw = lane.rule.blockWindows, block = lane.blocks[Math.floor(w / bw)];
  if (w % bw === 0) {
    lane.dec = block.method === Method.Stored ? null : new RangeDecoder(block.payload);
    lane.matched = block.method === Method.Matched;
  }
  if (lane.dec) return true;
  const start = lane.wins[w].a * S, from = lane.wins[Math.floor(w / bw) * bw].a * S, end = Math.min(lane.out.length, lane.wins[w].b * S);
  lane.out.set(block.payload.subarray(start - from, end - from), start);
  for (let i = start; i < end; i++) lane.group.mm!.update(i, lane.k);
  return false;
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
 * Decodes groups of lanes side by side, a patch per round, the lanes of a group window by window together
 * (as encodeGroup coded them). At the start of a round each coding lane gets the feature that predicts its
 * next patch: a lane entering a window computes the window's context (one batch per context length), the
 * others add the patch they decoded last to their cache (one row each). Then the S byte positions of all
 * lanes are decoded as batches of one row per lane, each group's lanes in order through its match model.
 * A group that is done frees its slots for the next groups of the queue.
 */
function decodeGroups(ex: ExactBgpt, queue: Group[], onWindow: (lane: Lane, w: number) => void): void {
  const { patchSize: S, hidden: H } = ex.cfg;
  const n = Math.min(MAX_LANES, queue.reduce((a, g) => a + g.lanes.length, 0));
  const pc = ex.newPatchCache(n), bc = ex.newByteCache(n), feat = new Float32Array(n * H);
  const free = Array.from({ length: n }, (_, i) => n - 1 - i);
  const coding = (g: Group) => g.lanes.filter((l) => l.dec && g.w < l.wins.length);
  // the group's next window that the model decodes for some lane (stored bytes filled in on the way); false: done
  const advance = (g: Group, starting: Lane[]): boolean => {
    for (;;) {
      for (const l of g.lanes) {
        if (g.w < 0 || g.w >= l.wins.length || l.error) continue;
        leaveWindow(l, g.w);
        onWindow(l, g.w);
      }
      if (g.lanes.some((l) => l.error)) return false; // a corrupt file: its other segments stop too
      const w = ++g.w, here = g.lanes.filter((l) => w < l.wins.length);
      if (!here.length) return false;
      const coded = here.filter((l) => enterWindow(l, w, S));
      if (coded.length) {
        for (const l of coded) l.p = l.wins[w].a;
        starting.push(...coded);
        return true;
      }
    }
  };
  const slotsOf = (ls: Lane[]) => Int32Array.from(ls, (l) => l.slot);
  const finish = (g: Group) => {
    for (const l of g.lanes) free.push(l.slot);
    g.mm = null;
  };
  let active: Group[] = [], next = 0;
  for (;;) {
    const starting: Lane[] = [], stepping: Lane[] = [], kept: Group[] = [];
    for (const g of active) {
      const c = coding(g), more = c.filter((l) => l.p < l.wins[g.w].b);
      if (more.length) stepping.push(...more);
      else if (!advance(g, starting)) {
        finish(g);
        continue;
      }
      kept.push(g);
    }
    while (next < queue.length && free.length >= queue[next].lanes.length) {
      const g = queue[next++];
      for (const l of g.lanes) l.slot = free.pop()!;
      g.mm = new MatchModel(g.data, g.seg);
      if (advance(g, starting)) kept.push(g);
      else finish(g);
    }
    if (!(active = kept).length) {
      if (next >= queue.length) return;
      continue;
    }
    if (stepping.length) {
      const t = new Int32Array(stepping.length * S);
      stepping.forEach((l, i) => t.set(tokensOf(l.out, l.p - 1, l.p, S, l.header), i * S));
      const F = ex.patchFeatures(t, 1, pc, slotsOf(stepping));
      stepping.forEach((l, i) => feat.set(F.subarray(i * H, i * H + H), l.slot * H));
    }
    for (const R0 of new Set(starting.map((l) => l.wins[l.group.w].a - l.wins[l.group.w].ctx))) {
      const g = starting.filter((l) => l.wins[l.group.w].a - l.wins[l.group.w].ctx === R0), tokens = new Int32Array(g.length * R0 * S);
      g.forEach((l, i) => {
        pc.lengths[l.slot] = 0;
        tokens.set(tokensOf(l.out, l.wins[l.group.w].ctx, l.wins[l.group.w].a, S, l.header), i * R0 * S);
      });
      const F = ex.patchFeatures(tokens, R0, pc, slotsOf(g));
      g.forEach((l, i) => feat.set(F.subarray((i * R0 + R0 - 1) * H, (i * R0 + R0) * H), l.slot * H));
    }
    // every lane with a patch to decode this round: a group's lanes are all stepping or all starting, in order
    const lanes = [...stepping, ...starting];
    for (const l of lanes) bc.lengths[l.slot] = 0;
    for (let s = 0; s < S; s++) {
      const rows = s === 0 ? lanes : lanes.filter((l) => l.p * S + s < l.out.length);
      if (!rows.length) break;
      let x = feat;
      if (s === 0) {
        x = new Float32Array(rows.length * H);
        rows.forEach((l, j) => x.set(feat.subarray(l.slot * H, l.slot * H + H), j * H));
      }
      const f = ex.stepFreqs(bc, slotsOf(rows), x, Int32Array.from(rows, (l) => l.prev));
      rows.forEach((l, j) => {
        const i = l.p * S + s, fj = f.subarray(j * 256, j * 256 + 256), mm = l.group.mm!;
        l.prev = l.out[i] = l.dec!.decode(l.matched ? mm.adjust(fj, l.k) : fj);
        if (l.matched) mm.update(i, l.k); // a modelled block (older files) codes with the byte model alone
      });
    }
    for (const l of lanes) l.p++;
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
  // the longest first: shorter ones fill the slots that free up, and the end is not one long file alone
  const groups = files.flatMap((f) => (f instanceof Error ? [] : f.groups)).sort((x, y) => y.data.length - x.data.length);
  decodeGroups(ex, groups, (l, w) => {
    const before = Math.min(l.out.length, (w > 0 ? l.wins[w - 1].b : 0) * S);
    done[l.file] += Math.min(l.out.length, l.wins[w].b * S) - before;
    opts.onProgress?.(l.file, done[l.file], (files[l.file] as { h: Header }).h.length);
  });
  for (const g of groups) for (const l of g.lanes) failed[l.file] ??= l.error;
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
