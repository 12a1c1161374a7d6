/** A GPT-2 block (transformers 4.18): x += attn(ln_1(x)); x += mlp(ln_2(x)). */
import type { Kernels } from '../backend/types.js';
import { Attention, type AttentionActs, type LayerCache } from './attention.js';
import { LayerNorm } from './layernorm.js';
import { Mlp, type MlpActs } from './mlp.js';
import type { Params } from './params.js';

/** What one block keeps from its forward for its backward. */
export interface BlockActs extends AttentionActs, MlpActs {
  a1: Float32Array; // ln_1(x)
  mean1: Float32Array;
  rstd1: Float32Array;
  x1: Float32Array; // x + attn(...)
  a2: Float32Array; // ln_2(x1)
  mean2: Float32Array;
  rstd2: Float32Array;
}

/**
 * GPT-2's dropout inside a block (training only): on the attention probabilities and on the output of the
 * attention and MLP branches. Masks are a pure function of (seed, index), so backward replays them.
 */
export interface BlockDropout {
  p: number;
  attn: number;
  attnOut: number;
  mlpOut: number;
}

/** Scratch shared by all blocks during backward. */
export interface BlockScratch {
  dA: Float32Array; // [R, H]
  dy: Float32Array; // [R, H]
  dqkv: Float32Array; // [R, 3H]
  dg: Float32Array; // [R, 4H]
  dB: Float32Array; // [R, H] a branch's output gradient, when dropout needs a masked copy
}

/**
 * The LayerNorm that reads a block's output (the next block's ln_1, or ln_f) and where its results go: the
 * block applies it in the same pass as its last residual add.
 */
export interface NextNorm {
  ln: LayerNorm;
  out: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
}

export class Block {
  readonly ln1: LayerNorm;
  readonly attn: Attention;
  readonly ln2: LayerNorm;
  readonly mlp: Mlp;

  constructor(p: Params, prefix: string, readonly H: number, nHead: number) {
    this.ln1 = new LayerNorm(p, `${prefix}ln_1`, H);
    this.attn = new Attention(p, `${prefix}attn.`, H, nHead);
    this.ln2 = new LayerNorm(p, `${prefix}ln_2`, H);
    this.mlp = new Mlp(p, `${prefix}mlp.`, H);
  }

  /**
   * out = block(x); `tmp` is scratch [R, H]. With `cache`, x holds new positions after the cached ones.
   * On entry a.a1, a.mean1, a.rstd1 hold ln_1(x) (the caller's, or the previous block's `next`); `next` is the
   * LayerNorm that reads out, applied in the pass of the last residual add.
   */
  forward(
    k: Kernels, out: Float32Array, x: Float32Array, a: BlockActs, tmp: Float32Array, B: number, T: number,
    mask: Float32Array | null, next: NextNorm, drop: BlockDropout | null = null, cache: LayerCache | null = null,
  ): void {
    const R = B * T, n = R * this.H, p = drop?.p ?? 0;
    this.attn.forward(k, tmp, a.a1, a, B, T, mask, p, drop?.attn ?? 0, cache);
    if (p > 0) k.dropout(tmp, n, p, drop!.attnOut);
    this.ln2.addForward(k, a.x1, a.a2, a.mean2, a.rstd2, x, tmp, R);
    this.mlp.forward(k, tmp, a.a2, a, R);
    if (p > 0) k.dropout(tmp, n, p, drop!.mlpOut);
    next.ln.addForward(k, out, next.out, next.mean, next.rstd, a.x1, tmp, R);
  }

  /** The gradient reaching a branch's output: dres itself, or a copy masked like the forward's dropout. */
  private branchGrad(k: Kernels, dres: Float32Array, s: BlockScratch, p: number, seed: number): Float32Array {
    if (p === 0) return dres;
    s.dB.set(dres);
    k.dropout(s.dB, s.dB.length, p, seed);
    return s.dB;
  }

  /** dres holds ∂loss/∂out on entry and ∂loss/∂x on return (the residual stream's gradient, in place). */
  backward(k: Kernels, dres: Float32Array, x: Float32Array, a: BlockActs, s: BlockScratch, B: number, T: number, drop: BlockDropout | null = null): void {
    const R = B * T, p = drop?.p ?? 0;
    this.mlp.backward(k, s.dA, this.branchGrad(k, dres, s, p, drop?.mlpOut ?? 0), a.a2, a, s.dg, R);
    this.ln2.backward(k, dres, s.dA, a.x1, a.mean2, a.rstd2, R);
    this.attn.backward(k, s.dA, this.branchGrad(k, dres, s, p, drop?.attnOut ?? 0), a.a1, a, s.dy, s.dqkv, B, T, p, drop?.attn ?? 0);
    this.ln1.backward(k, dres, s.dA, x, a.mean1, a.rstd1, R);
  }
}
