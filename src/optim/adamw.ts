/** torch.optim.AdamW over the flat parameter buffer (one kernel call for the whole model). */
import type { Kernels } from '../backend/types.js';
import { allocatorOf } from '../util/aligned.js';

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** What a checkpoint keeps of an AdamW: the moments (in the parameters' flat layout) and the step count. */
export interface AdamWState {
  m: Float32Array;
  v: Float32Array;
  step: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Steps taken so far (torch's `state['step']`). */
  step = 0;
  readonly opts: AdamWOptions;

  constructor(readonly k: Kernels, readonly size: number, opts: Partial<AdamWOptions> = {}) {
    this.opts = { ...ADAMW_DEFAULTS, ...opts };
    this.m = allocatorOf(k).f32(size);
    this.v = allocatorOf(k).f32(size);
  }

  /** Continues from a saved state (an exact resume: the same moments and step). */
  restore(s: AdamWState): void {
    if (s.m.length !== this.size || s.v.length !== this.size) throw new Error(`optimizer state has ${s.m.length} / ${s.v.length} moments, the model ${this.size}`);
    this.m.set(s.m);
    this.v.set(s.v);
    this.step = s.step;
  }

  /**
   * One update of `params` with `grads`; `lr` overrides the base rate (for a schedule). `skip` lists
   * [offset, size] ranges left untouched: torch skips parameters that never get a gradient (the patch-level
   * decoder's unused `wte`), so they must not be weight-decayed either.
   */
  update(params: Float32Array, grads: Float32Array, lr = this.opts.lr, skip: [number, number][] = []): void {
    const o = this.opts;
    this.step++;
    let start = 0;
    for (const [off, size] of [...skip, [this.size, 0] as [number, number]].sort((a, b) => a[0] - b[0])) {
      if (off > start) {
        const seg = (a: Float32Array) => a.subarray(start, off);
        this.k.adamw(seg(params), seg(grads), seg(this.m), seg(this.v), off - start, lr, o.beta1, o.beta2, o.eps, o.weightDecay, this.step);
      }
      start = Math.max(start, off + size);
    }
  }
}
