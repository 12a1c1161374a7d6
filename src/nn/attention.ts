/** GPT-2 self-attention: c_attn (fused q,k,v) → causal masked softmax attention → c_proj. */
import type { Kernels } from '../backend/types.js';
import { Conv1D } from './linear.js';
import type { Params } from './params.js';

/** GPT-2's score for a future or padding key (transformers 4.18 `masked_bias` and attention-mask fill value). */
export const MASK_VALUE = -10000;

export interface AttentionActs {
  qkv: Float32Array; // [R, 3H]
  att: Float32Array; // [B, nHead, T, T] softmax probabilities (empty with a cache)
  y: Float32Array; // [R, H] heads merged, before c_proj
}

/** One block's view of a key/value cache: its keys and values [slots, capacity, H] and where each row block goes. */
export interface LayerCache {
  keys: Float32Array;
  values: Float32Array;
  slots: Int32Array;
  past: Int32Array;
  capacity: number;
}

export class Attention {
  readonly cAttn: Conv1D;
  readonly cProj: Conv1D;

  constructor(p: Params, prefix: string, readonly H: number, readonly nHead: number) {
    this.cAttn = new Conv1D(p, `${prefix}c_attn`, H, 3 * H);
    this.cProj = new Conv1D(p, `${prefix}c_proj`, H, H);
  }

  /**
   * `dropP`/`seed`: dropout on the attention probabilities (training only). With `cache` the T rows of each
   * sequence are new positions after those cached (inference; nothing is kept for backward).
   */
  forward(
    k: Kernels, out: Float32Array, x: Float32Array, a: AttentionActs, B: number, T: number, mask: Float32Array | null,
    dropP = 0, seed = 0, cache: LayerCache | null = null,
  ): void {
    const R = B * T;
    this.cAttn.forward(k, a.qkv, x, R);
    if (cache) k.attentionCached(a.y, a.qkv, cache.keys, cache.values, cache.slots, cache.past, B, T, this.H, this.nHead, cache.capacity);
    else k.attentionForward(a.y, a.att, a.qkv, mask, B, T, this.H, this.nHead, MASK_VALUE, dropP, seed);
    this.cProj.forward(k, out, a.y, R);
  }

  /** dx = ∂loss/∂x (overwritten); dy and dqkv are scratch of sizes [R,H] and [R,3H]. */
  backward(
    k: Kernels, dx: Float32Array, dout: Float32Array, x: Float32Array, a: AttentionActs,
    dy: Float32Array, dqkv: Float32Array, B: number, T: number, dropP = 0, seed = 0,
  ): void {
    const R = B * T;
    this.cProj.backward(k, dy, dout, a.y, R);
    k.attentionBackward(dqkv, dy, a.qkv, a.att, B, T, this.H, this.nHead, dropP, seed);
    this.cAttn.backward(k, dx, dqkv, x, R);
  }
}
