/** GPT-2's Conv1D (weight stored [in, out], y = x·W + b) and its gradients. */
import type { Kernels } from '../backend/types.js';
import type { Params } from './params.js';

export class Conv1D {
  /** The weight in fp32 (empty when it is kept in 16 bits: see w16). */
  readonly w: Float32Array;
  readonly w16: Uint16Array | null;
  readonly b: Float32Array;

  constructor(private p: Params, readonly name: string, readonly nIn: number, readonly nOut: number) {
    this.w16 = p.w16(`${name}.weight`);
    this.w = this.w16 ? new Float32Array(0) : p.w(`${name}.weight`);
    this.b = p.w(`${name}.bias`);
  }

  forward(k: Kernels, out: Float32Array, x: Float32Array, rows: number): void {
    if (this.w16) k.matmulW16(out, x, this.w16, this.b, rows, this.nIn, this.nOut, this.p.half!.dtype, this.p.half!.bf16Activations);
    else k.matmul(out, x, this.w, this.b, rows, this.nIn, this.nOut, false, false, false);
  }

  /** The bias gradient (accumulated by backward, or by the caller's fused kernel: see withBias). */
  get db(): Float32Array {
    return this.p.g(`${this.name}.bias`);
  }

  /**
   * Accumulates dW and (withBias) db; writes dx = dy·Wᵀ (or adds it when accumulateDx) unless dx is null.
   * withBias false: the caller has accumulated db already, in the pass that made dy.
   */
  backward(k: Kernels, dx: Float32Array | null, dy: Float32Array, x: Float32Array, rows: number, accumulateDx = false, withBias = true): void {
    if (dx) k.matmul(dx, dy, this.w, null, rows, this.nOut, this.nIn, false, true, accumulateDx);
    k.matmul(this.p.g(`${this.name}.weight`), x, dy, null, this.nIn, rows, this.nOut, true, false, true);
    if (withBias) k.biasGrad(this.db, dy, rows, this.nOut, true);
  }
}
