/**
 * A GPT-2 transformer stack over given input embeddings: blocks then ln_f (its `last_hidden_state`).
 * The caller writes the input embeddings (token/patch embedding + position embedding) into `input(R)`.
 */
import type { Kernels } from '../backend/types.js';
import { Block, type BlockActs, type BlockDropout, type BlockScratch, type NextNorm } from './block.js';
import { LayerNorm } from './layernorm.js';
import { KVCache, type CacheStep } from './kv-cache.js';
import { Buffers, type Params } from './params.js';

/** Training-time dropout of a whole stack: probability and a seed from which every site's mask derives. */
export interface Dropout {
  p: number;
  seed: number;
}

/** The seed of dropout site `i` (0: embeddings; then three per block). */
function siteSeed(seed: number, i: number): number {
  return (seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0;
}

function blockDropout(d: Dropout | null, layer: number): BlockDropout | null {
  if (!d || d.p === 0) return null;
  return { p: d.p, attn: siteSeed(d.seed, 1 + 3 * layer), attnOut: siteSeed(d.seed, 2 + 3 * layer), mlpOut: siteSeed(d.seed, 3 + 3 * layer) };
}

export class GPT2 {
  readonly blocks: Block[] = [];
  readonly lnF: LayerNorm;
  private bufs: Buffers;
  private last: { B: number; T: number; mask: Float32Array | null; keep: boolean; drop: Dropout | null } | null = null;

  constructor(readonly k: Kernels, p: Params, prefix: string, readonly H: number, readonly nHead: number, layers: number) {
    this.bufs = new Buffers(k.alloc);
    for (let i = 0; i < layers; i++) this.blocks.push(new Block(p, `${prefix}h.${i}.`, H, nHead));
    this.lnF = new LayerNorm(p, `${prefix}ln_f`, H);
  }

  /** The residual stream entering block i (i = 0: the input embeddings). */
  private res(i: number, R: number, keep: boolean): Float32Array {
    return this.bufs.get(keep ? `res${i}` : `res${i & 1}`, R * this.H);
  }

  /** Buffer for the input embeddings [R, H] of the next forward. */
  input(R: number): Float32Array {
    return this.res(0, R, true);
  }

  private acts(i: number, B: number, T: number, keep: boolean, cached = false): BlockActs {
    const R = B * T, H = this.H, b = this.bufs, p = keep ? `L${i}.` : 'L.';
    return {
      a1: b.get(`${p}a1`, R * H), mean1: b.get(`${p}m1`, R), rstd1: b.get(`${p}r1`, R),
      qkv: b.get(`${p}qkv`, R * 3 * H), att: b.get(`${p}att`, cached ? 0 : B * this.nHead * T * T), y: b.get(`${p}y`, R * H),
      x1: b.get(`${p}x1`, R * H),
      a2: b.get(`${p}a2`, R * H), mean2: b.get(`${p}m2`, R), rstd2: b.get(`${p}r2`, R),
      fc: b.get(`${p}fc`, R * 4 * H), g: b.get(`${p}g`, R * 4 * H),
    };
  }

  /**
   * Runs the stack on input(B·T). `keep` keeps every block's activations for backward; without it the
   * blocks share one set (inference). With `step`, the T rows of sequence b are new positions after those
   * cached in slot step.slots[b] (inference; no mask), whose lengths then grow by T. Returns ln_f's output
   * [B·T, H] (valid until the next call).
   */
  forward(B: number, T: number, mask: Float32Array | null, keep: boolean, drop: Dropout | null = null, step: CacheStep | null = null): Float32Array {
    const k = this.k, R = B * T, n = this.blocks.length;
    const tmp = this.bufs.get('tmp', R * this.H);
    if (drop && drop.p > 0) {
      if (!keep) throw new Error('dropout is for training (keep = true)');
      k.dropout(this.input(R), R * this.H, drop.p, siteSeed(drop.seed, 0));
    }
    if (step && (keep || mask)) throw new Error('a cached forward is for inference (no keep, no mask)');
    let past: Int32Array | null = null;
    if (step) {
      past = this.bufs.ints('past', B);
      for (let b = 0; b < B; b++) past[b] = step.cache.length[step.slots[b]];
    }
    const out = this.bufs.get('out', R * this.H), mf = this.bufs.get('mf', R), rf = this.bufs.get('rf', R);
    // Each block applies the next LayerNorm (the next block's ln_1, or ln_f) in the pass of its last residual
    // add; only the first block's ln_1 runs on its own. Without keep, all blocks share one set of activations:
    // block i+1's a1 is free once block i's attention has read it.
    let acts = n > 0 ? this.acts(0, B, T, keep, !!step) : null;
    if (acts) this.blocks[0].ln1.forward(k, acts.a1, acts.mean1, acts.rstd1, this.input(R), R);
    else this.lnF.forward(k, out, mf, rf, this.input(R), R);
    for (let i = 0; i < n; i++) {
      // without keep, the residual stream ping-pongs between two buffers; input(R) (res0) is read first
      const x = i === 0 ? this.input(R) : this.res(i, R, keep);
      const lc = step && past ? { keys: step.cache.keys[i], values: step.cache.values[i], slots: step.slots, past, capacity: step.cache.capacity } : null;
      const nextActs = i + 1 < n ? this.acts(i + 1, B, T, keep, !!step) : null;
      const next: NextNorm = nextActs
        ? { ln: this.blocks[i + 1].ln1, out: nextActs.a1, mean: nextActs.mean1, rstd: nextActs.rstd1 }
        : { ln: this.lnF, out, mean: mf, rstd: rf };
      this.blocks[i].forward(k, this.res(i + 1, R, keep), x, acts!, tmp, B, T, mask, next, blockDropout(drop, i), lc);
      acts = nextActs;
    }
    if (step) for (let b = 0; b < B; b++) step.cache.length[step.slots[b]] += T;
    this.last = { B, T, mask, keep, drop };
    return out;
  }

  /**
   * Backward from ∂loss/∂(ln_f output) [B·T, H]; accumulates every parameter gradient and returns
   * ∂loss/∂input [B·T, H] (valid until the next call).
   */
  backward(dOut: Float32Array): Float32Array {
    const last = this.last;
    if (!last || !last.keep) throw new Error('GPT2.backward needs a forward with keep = true');
    const { B, T, drop } = last, k = this.k, R = B * T, H = this.H, n = this.blocks.length, b = this.bufs;
    const dres = b.get('dres', R * H);
    dres.fill(0);
    this.lnF.backward(k, dres, dOut, this.res(n, R, true), b.get('mf', R), b.get('rf', R), R);
    const s: BlockScratch = {
      dA: b.get('dA', R * H), dy: b.get('dy', R * H), dqkv: b.get('dqkv', R * 3 * H), dg: b.get('dg', R * 4 * H),
      dB: drop && drop.p > 0 ? b.get('dB', R * H) : new Float32Array(0),
    };
    for (let i = n - 1; i >= 0; i--) this.blocks[i].backward(k, dres, this.res(i, R, true), this.acts(i, B, T, true), s, B, T, blockDropout(drop, i));
    if (drop && drop.p > 0) k.dropout(dres, R * H, drop.p, siteSeed(drop.seed, 0));
    return dres;
  }

  /** A key/value cache for `slots` sequences of up to `capacity` positions each. */
  newCache(slots: number, capacity: number): KVCache {
    return new KVCache(this.blocks.length, slots, capacity, this.H, this.k.alloc);
  }

  /** Frees the activation memory (it is reallocated on the next forward). */
  release(): void {
    this.bufs.clear();
    this.last = null;
  }
}
