/**
 * bGPT inference on the exact kernels (src/backend/exact): the same network as src/model, evaluated so that
 * every probability is bit-identical whether positions are computed together (the encoder's teacher-forced
 * batches) or one at a time against key/value caches (the decoder), on any backend and thread count.
 */
import type { ExactKernels } from '../backend/exact/index.js';
import { paddedStride } from '../backend/exact/types.js';
import type { BgptModel } from '../model/bgpt.js';
import { VOCAB, type BgptConfig } from '../model/config.js';
import { BYTE_PREFIX, PATCH_PREFIX } from '../model/params.js';

const EMB = 'patch_level_decoder.patch_embedding';

/**
 * A weight [K, N] as the exact linear reads it: rows `ld` apart (paddedStride), as floats or, where every
 * value is one and the kernels read them, as IEEE halves (`h`: the same values in half the bytes).
 */
interface Matrix {
  w: Float32Array;
  h: Uint16Array | null;
  ld: number;
}

/** The halves of w when every value is exactly a finite half (a model stored in 16 bits), else null. */
export function asHalves(w: Float32Array): Uint16Array | null {
  const u = new Uint32Array(w.buffer, w.byteOffset, w.length), h = new Uint16Array(w.length);
  for (let i = 0; i < u.length; i++) {
    const b = u[i], sign = (b >>> 16) & 0x8000, e = (b >>> 23) & 0xff, m = b & 0x7fffff;
    if (e >= 113 && e <= 142 && !(m & 0x1fff)) h[i] = sign | ((e - 112) << 10) | (m >>> 13); // normal
    else if (e >= 103 && e < 113 && !((0x800000 | m) & ((1 << (126 - e)) - 1))) h[i] = sign | ((0x800000 | m) >>> (126 - e)); // subnormal
    else if (e === 0 && m === 0) h[i] = sign; // ±0
    else return null;
  }
  return h;
}

function matrix(k: ExactKernels, w: Float32Array, K: number, N: number, ld = paddedStride(N)): Matrix {
  let p = w; // already laid out when it has K rows of ld
  if (w.length !== K * ld) {
    p = new Float32Array(K * ld);
    for (let r = 0; r < K; r++) p.set(w.subarray(r * N, r * N + N), r * ld);
  }
  const h = k.linear16 ? asHalves(p) : null;
  return { w: h ? new Float32Array(0) : p, h, ld };
}

/** out = x·M + b over R rows (K inputs, N outputs). */
function linear(k: ExactKernels, out: Float32Array, x: Float32Array, M: Matrix, b: Float32Array | null, R: number, K: number, N: number): void {
  if (M.h) k.linear16!(out, x, M.h, b, R, K, N, M.ld);
  else k.linear(out, x, M.w, b, R, K, N, M.ld);
}

interface LayerWeights {
  ln1g: Float32Array; ln1b: Float32Array; attnW: Matrix; attnB: Float32Array; projW: Matrix; projB: Float32Array;
  ln2g: Float32Array; ln2b: Float32Array; fcW: Matrix; fcB: Float32Array; fc2W: Matrix; fc2B: Float32Array;
}

/**
 * Keys and values of `slots` sequences (the decoder's lanes): per layer [slots, capacity, 2H] (the keys, then
 * the values, of each position); slot s holds its first `lengths[s]` positions.
 */
export class Cache {
  readonly lengths: Int32Array;
  readonly kv: Float32Array[];
  constructor(layers: number, readonly capacity: number, H: number, readonly slots = 1) {
    this.kv = Array.from({ length: layers }, () => new Float32Array(slots * capacity * 2 * H));
    this.lengths = new Int32Array(slots);
  }
}

const ONE_SLOT = Int32Array.of(0);

/** A GPT-2 stack (blocks then ln_f) on exact kernels. */
class Stack {
  private layers: LayerWeights[] = [];
  private lnfG: Float32Array;
  private lnfB: Float32Array;
  private bufs = new Map<string, Float32Array>();

  constructor(private k: ExactKernels, model: BgptModel, prefix: string, n: number, readonly H: number, readonly heads: number) {
    const w = (s: string) => model.params.w(`${prefix}${s}`);
    for (let i = 0; i < n; i++) {
      const p = `h.${i}.`;
      this.layers.push({
        ln1g: w(`${p}ln_1.weight`), ln1b: w(`${p}ln_1.bias`), attnW: matrix(k, w(`${p}attn.c_attn.weight`), H, 3 * H), attnB: w(`${p}attn.c_attn.bias`),
        projW: matrix(k, w(`${p}attn.c_proj.weight`), H, H), projB: w(`${p}attn.c_proj.bias`), ln2g: w(`${p}ln_2.weight`), ln2b: w(`${p}ln_2.bias`),
        fcW: matrix(k, w(`${p}mlp.c_fc.weight`), H, 4 * H), fcB: w(`${p}mlp.c_fc.bias`), fc2W: matrix(k, w(`${p}mlp.c_proj.weight`), 4 * H, H), fc2B: w(`${p}mlp.c_proj.bias`),
      });
    }
    this.lnfG = w('ln_f.weight');
    this.lnfB = w('ln_f.bias');
  }

  buf(name: string, n: number): Float32Array {
    let b = this.bufs.get(name);
    if (!b || b.length < n) this.bufs.set(name, (b = new Float32Array(Math.max(n, Math.ceil((b?.length ?? 0) * 1.25)))));
    return b.subarray(0, n);
  }

  /**
   * Runs B sequences of R new rows (input embeddings x [B·R, H], overwritten). Without a cache every sequence
   * starts at position 0; with one, sequence b's rows follow the positions of cache slot `slots[b]`
   * (B = slots.length) and are appended to it. Returns ln_f's output [B·R, H] (valid until the next call).
   */
  forward(x: Float32Array, B: number, R: number, cache: Cache | null, slots: Int32Array = ONE_SLOT): Float32Array {
    const { k, H } = this, n = B * R;
    const pasts = cache ? slots.map((s) => cache.lengths[s]) : null;
    if (cache && (B !== slots.length || slots.some((s, b) => s < 0 || s >= cache.slots || pasts![b] + R > cache.capacity))) throw new Error('cache overflow');
    const a = this.buf('a', n * H), qkv = this.buf('qkv', n * 3 * H), y = this.buf('y', n * H), t = this.buf('t', n * H);
    const fc = this.buf('fc', n * 4 * H), g = this.buf('g', n * 4 * H);
    this.layers.forEach((L, i) => {
      k.layerNorm(a, x, L.ln1g, L.ln1b, n, H);
      linear(k, qkv, a, L.attnW, L.attnB, n, H, 3 * H);
      if (cache) {
        const kv = cache.kv[i], cap = cache.capacity;
        for (let b = 0; b < B; b++) {
          const base = slots[b] * cap + pasts![b];
          for (let r = 0; r < R; r++) kv.set(qkv.subarray((b * R + r) * 3 * H + H, (b * R + r + 1) * 3 * H), (base + r) * 2 * H);
        }
        k.attend(y, qkv, kv, 2 * H, B, R, 0, H, this.heads, cap, slots, pasts!);
      } else {
        k.attend(y, qkv, qkv.subarray(H), 3 * H, B, R, 0, H, this.heads);
      }
      linear(k, t, y, L.projW, L.projB, n, H, H);
      for (let j = 0; j < n * H; j++) x[j] += t[j]; // Float32Array: one float addition per element
      k.layerNorm(a, x, L.ln2g, L.ln2b, n, H);
      linear(k, fc, a, L.fcW, L.fcB, n, H, 4 * H);
      k.gelu(g, fc, n * 4 * H);
      linear(k, t, g, L.fc2W, L.fc2B, n, 4 * H, H);
      for (let j = 0; j < n * H; j++) x[j] += t[j];
    });
    if (cache) for (const s of slots) cache.lengths[s] += R;
    const out = this.buf('out', n * H);
    k.layerNorm(out, x, this.lnfG, this.lnfB, n, H);
    return out;
  }
}

/** w [rows, cols] → [cols, rows] with its rows `ld` apart, so that the exact linear reads each input's weights as one row. */
function transpose(w: Float32Array, rows: number, cols: number, ld = rows): Float32Array {
  const t = new Float32Array(cols * ld);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * ld + r] = w[r * cols + c];
  return t;
}

export class ExactBgpt {
  readonly cfg: BgptConfig;
  private patch: Stack;
  private byte: Stack;
  private embT: Float32Array; // [S·257, H]
  private embB: Float32Array;
  private patchWpe: Float32Array;
  private byteWte: Float32Array;
  private byteWpe: Float32Array;
  private headT: Matrix; // the tied LM head, [H, 256]: the end-of-patch token is never a file's byte
  private logits = new Float32Array(0);

  constructor(readonly k: ExactKernels, readonly model: BgptModel) {
    const c = (this.cfg = model.cfg), H = c.hidden, p = model.params;
    this.patch = new Stack(k, model, PATCH_PREFIX, c.patchLayers, H, c.heads);
    this.byte = new Stack(k, model, BYTE_PREFIX, c.byteLayers, H, c.heads);
    this.embT = transpose(p.w(`${EMB}.weight`), H, c.patchSize * VOCAB);
    this.embB = p.w(`${EMB}.bias`);
    this.patchWpe = p.w(`${PATCH_PREFIX}wpe.weight`);
    this.byteWte = p.w(`${BYTE_PREFIX}wte.weight`);
    this.byteWpe = p.w(`${BYTE_PREFIX}wpe.weight`);
    const ld = paddedStride(256);
    this.headT = matrix(k, transpose(this.byteWte.subarray(0, 256 * H), 256, H, ld), H, 256, ld);
  }

  /** A patch-level cache of `lanes` slots (one window of context each). */
  newPatchCache(lanes = 1): Cache {
    return new Cache(this.cfg.patchLayers, this.cfg.patchLength, this.cfg.hidden, lanes);
  }

  /** A byte-level cache of `lanes` slots (one patch each). */
  newByteCache(lanes = 1): Cache {
    return new Cache(this.cfg.byteLayers, this.cfg.patchSize, this.cfg.hidden, lanes);
  }

  /**
   * Patch-level features of R patches of each of B sequences (tokens [B·R·S]). Without a cache (B = 1) they
   * are positions 0 …; with one, sequence b is cache slot `slots[b]` (B = slots.length) and its patches follow
   * the positions the slot holds. Returns [B·R, H] (valid until the next call).
   */
  patchFeatures(tokens: Int32Array, R: number, cache: Cache | null, slots: Int32Array = ONE_SLOT): Float32Array {
    const { hidden: H, patchSize: S } = this.cfg, B = cache ? slots.length : 1;
    const x = this.patch.buf('x', B * R * H);
    this.k.patchEmbed(x, this.embT, this.embB, tokens, B * R, S, H, VOCAB);
    for (let b = 0; b < B; b++) {
      const start = cache ? cache.lengths[slots[b]] : 0;
      for (let r = 0; r < R; r++) for (let i = 0, o = (start + r) * H, xo = (b * R + r) * H; i < H; i++) x[xo + i] += this.patchWpe[o + i];
    }
    return this.patch.forward(x, B, R, cache, slots);
  }

  /**
   * Teacher-forced frequencies of M whole patches at once: features [M, H], the patches' tokens [M·S]
   * (padding after a file's end is fine: causality keeps it out of earlier positions). Returns [M·S, 256].
   */
  patchFreqs(features: Float32Array, tokens: Int32Array, M: number): Int32Array {
    const { hidden: H, patchSize: S } = this.cfg, x = this.byte.buf('x', M * S * H);
    for (let m = 0; m < M; m++) {
      for (let s = 0; s < S; s++) {
        const o = (m * S + s) * H, wp = s * H;
        if (s === 0) for (let i = 0; i < H; i++) x[o + i] = features[m * H + i] + this.byteWpe[wp + i];
        else {
          const we = tokens[m * S + s - 1] * H;
          for (let i = 0; i < H; i++) x[o + i] = this.byteWte[we + i] + this.byteWpe[wp + i];
        }
      }
    }
    return this.head(this.byte.forward(x, M, S, null), M * S);
  }

  /**
   * The next byte position of B sequences against a byte-level cache, sequence b in slot `slots[b]`: position 0
   * takes the sequence's patch feature (`features` [B, H]), later ones its previous byte `prev[b]`. Returns
   * the frequencies of each sequence's byte at that position [B, 256] (valid until the next call).
   */
  stepFreqs(cache: Cache, slots: Int32Array, features: Float32Array, prev: Int32Array): Int32Array {
    const H = this.cfg.hidden, B = slots.length, x = this.byte.buf('x1', B * H);
    for (let b = 0; b < B; b++) {
      const pos = cache.lengths[slots[b]];
      const src = pos === 0 ? features.subarray(b * H, b * H + H) : this.byteWte.subarray(prev[b] * H, prev[b] * H + H);
      for (let i = 0; i < H; i++) x[b * H + i] = src[i] + this.byteWpe[pos * H + i];
    }
    return this.head(this.byte.forward(x, B, 1, cache, slots), B);
  }

  private freqBuf = new Int32Array(0);

  private head(h: Float32Array, R: number): Int32Array {
    const H = this.cfg.hidden;
    if (this.logits.length < R * 256) this.logits = new Float32Array(R * 256);
    if (this.freqBuf.length < R * 256) this.freqBuf = new Int32Array(R * 256);
    const logits = this.logits.subarray(0, R * 256), f = this.freqBuf.subarray(0, R * 256);
    linear(this.k, logits, h, this.headT, null, R, H, 256);
    this.k.freqs(f, logits, R);
    return f;
  }
}
