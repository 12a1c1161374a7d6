/**
 * Incremental generation with key/value caches (docs/format.md §5): the patch-level decoder extends its cache by one
 * patch at a time and the byte-level decoder by one byte, so each new byte costs one row through each stack
 * instead of the original's recomputation of every prefix. The distributions are those of a full recompute.
 */
import type { KVCache } from '../nn/kv-cache.js';
import type { BgptModel } from './bgpt.js';
import { VOCAB } from './config.js';
import { BYTE_PREFIX, PATCH_PREFIX } from './params.js';

const EMB = 'patch_level_decoder.patch_embedding';

export class Generator {
  private patchCache: KVCache;
  private byteCache: KVCache;
  private feature: Float32Array;
  private bytePos = 0;
  readonly probs = new Float32Array(VOCAB);

  constructor(readonly model: BgptModel) {
    const { patchLength: L, patchSize: S, hidden: H } = model.cfg;
    this.patchCache = model.patchDecoder.gpt.newCache(L);
    this.byteCache = model.byteDecoder.gpt.newCache(S + 1);
    this.feature = new Float32Array(H);
  }

  /** Patches in the patch-level cache. */
  get patches(): number {
    return this.patchCache.length;
  }

  reset(): void {
    this.patchCache.reset();
    this.byteCache.reset();
  }

  /** Appends whole patches (tokens [R·S]) to the patch-level context; the last one's feature is kept. */
  pushPatches(tokens: Int32Array): void {
    const { patchSize: S, hidden: H, patchLength: L } = this.model.cfg, k = this.model.k, p = this.model.params;
    const R = tokens.length / S, past = this.patchCache.length;
    if (!Number.isInteger(R) || R < 1) throw new Error('pushPatches needs whole patches');
    if (past + R > L) throw new Error(`the context would exceed the model's ${L} patches`);
    const gpt = this.model.patchDecoder.gpt;
    const x = gpt.input(R);
    k.patchEmbedForward(x, p.w(`${EMB}.weight`), p.w(`${EMB}.bias`), tokens, R, S, H, VOCAB);
    const wpe = p.w(`${PATCH_PREFIX}wpe.weight`);
    for (let r = 0; r < R; r++) for (let i = 0; i < H; i++) x[r * H + i] += wpe[(past + r) * H + i];
    const out = gpt.extend(R, this.patchCache);
    this.feature.set(out.subarray((R - 1) * H, R * H));
  }

  /**
   * Starts decoding the patch after the context: returns the distribution of its first token. Decode with
   * `pushByte` from there.
   */
  beginPatch(): Float32Array {
    if (this.patchCache.length === 0) throw new Error('generation needs at least one patch of context');
    this.byteCache.reset();
    this.bytePos = 0;
    return this.step(this.feature, -1);
  }

  /** Feeds the next token of the patch being decoded; returns the distribution of the one after it. */
  pushByte(token: number): Float32Array {
    if (this.bytePos >= this.model.cfg.patchSize - 1) throw new Error('the patch is already complete');
    return this.step(null, token);
  }

  private step(feature: Float32Array | null, token: number): Float32Array {
    const { hidden: H } = this.model.cfg, k = this.model.k, p = this.model.params;
    const gpt = this.model.byteDecoder.gpt, pos = this.byteCache.length;
    const wte = p.w(`${BYTE_PREFIX}wte.weight`), wpe = p.w(`${BYTE_PREFIX}wpe.weight`);
    const x = gpt.input(1);
    for (let i = 0; i < H; i++) x[i] = (feature ? feature[i] : wte[token * H + i]) + wpe[pos * H + i];
    const h = gpt.extend(1, this.byteCache);
    this.bytePos = pos;
    const logits = this.probs;
    k.matmul(logits, h, wte, null, 1, H, VOCAB, false, true, false);
    k.softmax(this.probs, logits, 1, VOCAB);
    return this.probs;
  }
}

