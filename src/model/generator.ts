/**
 * Decoding with key/value caches (docs/format.md §5), several sequences at once: each sequence owns a slot of the
 * patch-level cache (its patches so far) and of the byte-level cache (the patch being decoded), so a new
 * byte costs one row through the byte-level decoder and a new patch one row through the patch-level
 * decoder — the same layer code as training, over the cached past. The distributions are those of a full
 * recompute; sequences in one batch do not see each other.
 */
import type { KVCache } from '../nn/kv-cache.js';
import { Buffers } from '../nn/params.js';
import type { BgptModel } from './bgpt.js';
import { VOCAB } from './config.js';

export class CachedDecoder {
  readonly patchCache: KVCache;
  readonly byteCache: KVCache;
  /** The last patch feature of each slot [slots, H]: what the next patch is decoded from. */
  private features: Float32Array;
  private bufs: Buffers;

  constructor(readonly model: BgptModel, readonly slots = 1) {
    this.bufs = new Buffers(model.k.alloc);
    const { patchLength: L, patchSize: S, hidden: H } = model.cfg;
    this.patchCache = model.patchDecoder.gpt.newCache(slots, L);
    this.byteCache = model.byteDecoder.gpt.newCache(slots, S + 1);
    this.features = new Float32Array(slots * H);
  }

  /** Patches in slot s's context. */
  patches(s: number): number {
    return this.patchCache.length[s];
  }

  /** Empties slot s (for a new sequence). */
  reset(s: number): void {
    this.patchCache.reset(s);
    this.byteCache.reset(s);
  }

  /**
   * Appends N whole patches to the context of each of the given slots (tokens [slots.length·N·S]); the
   * last one's feature is kept for decoding the patch after it.
   */
  pushPatches(slots: Int32Array, tokens: Int32Array): void {
    const { patchSize: S, hidden: H, patchLength: L } = this.model.cfg, B = slots.length;
    const N = tokens.length / (B * S);
    if (!Number.isInteger(N) || N < 1) throw new Error('pushPatches needs whole patches for every slot');
    for (const s of slots) if (this.patches(s) + N > L) throw new Error(`the context would exceed the model's ${L} patches`);
    const F = this.model.patchDecoder.forward(tokens, B, N, null, false, null, { cache: this.patchCache, slots });
    for (let b = 0; b < B; b++) this.features.set(F.subarray(((b + 1) * N - 1) * H, (b + 1) * N * H), slots[b] * H);
  }

  /**
   * One byte-level step for each slot: tokens[b] ≥ 0 feeds that byte of the patch being decoded; −1 starts
   * a new patch (from the slot's last patch feature). Returns the next-token distributions [B, 257]
   * (valid until the next call).
   */
  step(slots: Int32Array, tokens: Int32Array): Float32Array {
    const { hidden: H, patchSize: S } = this.model.cfg, B = slots.length;
    const feats = this.bufs.get('feats', B * H);
    for (let b = 0; b < B; b++) {
      const s = slots[b];
      if (tokens[b] < 0) {
        if (this.patches(s) === 0) throw new Error('decoding needs at least one patch of context');
        this.byteCache.reset(s);
        feats.set(this.features.subarray(s * H, (s + 1) * H), b * H);
      } else if (this.byteCache.length[s] === 0 || this.byteCache.length[s] >= S) {
        throw new Error(this.byteCache.length[s] === 0 ? 'a patch starts with −1 (its feature)' : 'the patch is already complete');
      }
    }
    const logits = this.model.byteDecoder.decode(tokens, feats, { cache: this.byteCache, slots });
    const probs = this.bufs.get('probs', B * VOCAB);
    this.model.k.softmax(probs, logits, B, VOCAB);
    return probs;
  }
}
