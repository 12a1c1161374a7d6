/**
 * A GPT-2 transformer stack over given input embeddings: blocks then ln_f (its `last_hidden_state`).
 * The caller writes the input embeddings (token/patch embedding + position embedding) into `input(R)`.
 */
import type { Kernels } from '../backend/types.js';
import { Block, type BlockActs, type BlockScratch } from './block.js';
import { LayerNorm } from './layernorm.js';
import { Buffers, type Params } from './params.js';

export class GPT2 {
  readonly blocks: Block[] = [];
  readonly lnF: LayerNorm;
  private bufs = new Buffers();
  private last: { B: number; T: number; mask: Float32Array | null; keep: boolean } | null = null;

  constructor(readonly k: Kernels, p: Params, prefix: string, readonly H: number, readonly nHead: number, layers: number) {
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

  private acts(i: number, B: number, T: number, keep: boolean): BlockActs {
    const R = B * T, H = this.H, b = this.bufs, p = keep ? `L${i}.` : 'L.';
    return {
      a1: b.get(`${p}a1`, R * H), mean1: b.get(`${p}m1`, R), rstd1: b.get(`${p}r1`, R),
      qkv: b.get(`${p}qkv`, R * 3 * H), att: b.get(`${p}att`, B * this.nHead * T * T), y: b.get(`${p}y`, R * H),
      x1: b.get(`${p}x1`, R * H),
      a2: b.get(`${p}a2`, R * H), mean2: b.get(`${p}m2`, R), rstd2: b.get(`${p}r2`, R),
      fc: b.get(`${p}fc`, R * 4 * H), g: b.get(`${p}g`, R * 4 * H),
    };
  }

  /**
   * Runs the stack on input(B·T). `keep` keeps every block's activations for backward; without it the
   * blocks share one set (inference). Returns ln_f's output [B·T, H] (valid until the next call).
   */
  forward(B: number, T: number, mask: Float32Array | null, keep: boolean): Float32Array {
    const k = this.k, R = B * T, n = this.blocks.length;
    const tmp = this.bufs.get('tmp', R * this.H);
    for (let i = 0; i < n; i++) {
      // without keep, the residual stream ping-pongs between two buffers; input(R) (res0) is read first
      const x = i === 0 ? this.input(R) : this.res(i, R, keep);
      const out = this.res(i + 1, R, keep);
      this.blocks[i].forward(k, out, x, this.acts(i, B, T, keep), tmp, B, T, mask);
    }
    const xf = n === 0 ? this.input(R) : this.res(n, R, keep);
    const out = this.bufs.get('out', R * this.H);
    this.lnF.forward(k, out, this.bufs.get('mf', R), this.bufs.get('rf', R), xf, R);
    this.last = { B, T, mask, keep };
    return out;
  }

  /**
   * Backward from ∂loss/∂(ln_f output) [B·T, H]; accumulates every parameter gradient and returns
   * ∂loss/∂input [B·T, H] (valid until the next call).
   */
  backward(dOut: Float32Array): Float32Array {
    const last = this.last;
    if (!last || !last.keep) throw new Error('GPT2.backward needs a forward with keep = true');
    const { B, T } = last, k = this.k, R = B * T, H = this.H, n = this.blocks.length, b = this.bufs;
    const dres = b.get('dres', R * H);
    dres.fill(0);
    this.lnF.backward(k, dres, dOut, this.res(n, R, true), b.get('mf', R), b.get('rf', R), R);
    const s: BlockScratch = {
      dA: b.get('dA', R * H), dy: b.get('dy', R * H), dqkv: b.get('dqkv', R * 3 * H), dg: b.get('dg', R * 4 * H),
    };
    for (let i = n - 1; i >= 0; i--) this.blocks[i].backward(k, dres, this.res(i, R, true), this.acts(i, B, T, true), s, B, T);
    return dres;
  }

  /** Frees the activation memory (it is reallocated on the next forward). */
  release(): void {
    this.bufs.clear();
    this.last = null;
  }
}
