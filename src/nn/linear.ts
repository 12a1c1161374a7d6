/** GPT-2's Conv1D (weight stored [in, out], y = x·W + b) and its gradients. */
import type { Kernels } from '../backend/types.js';
import type { Params } from './params.js';

export class Conv1D {
  readonly w: Float32Array;
  readonly b: Float32Array;

  constructor(private p: Params, readonly name: string, readonly nIn: number, readonly nOut: number) {
    this.w = p.w(`${name}.weight`);
    this.b = p.w(`${name}.bias`);
  }

  forward(k: Kernels, out: Float32Array, x: Float32Array, rows: number): void {
    k.matmul(out, x, this.w, this.b, rows, this.nIn, this.nOut, false, false, false);
  }

  /** Accumulates dW, db; writes dx = dy·Wᵀ (or adds it when accumulateDx) unless dx is null. */
  backward(k: Kernels, dx: Float32Array | null, dy: Float32Array, x: Float32Array, rows: number, accumulateDx = false): void {
    if (dx) k.matmul(dx, dy, this.w, null, rows, this.nOut, this.nIn, false, true, accumulateDx);
    k.matmul(this.p.g(`${this.name}.weight`), x, dy, null, this.nIn, rows, this.nOut, true, false, true);
    k.biasGrad(this.p.g(`${this.name}.bias`), dy, rows, this.nOut, true);
  }
}
