/** LayerNorm over the hidden dimension (eps 1e-5, as GPT-2). */
import type { Kernels } from '../backend/types.js';
import type { Params } from './params.js';

export const LN_EPS = 1e-5;

export class LayerNorm {
  readonly w: Float32Array;
  readonly b: Float32Array;

  constructor(private p: Params, readonly name: string, readonly H: number) {
    this.w = p.w(`${name}.weight`);
    this.b = p.w(`${name}.bias`);
  }

  forward(k: Kernels, out: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array, rows: number): void {
    k.layerNormForward(out, mean, rstd, x, this.w, this.b, rows, this.H, LN_EPS);
  }

  /** sum = a + b (the residual add before this norm; sum may alias a or b), out = LayerNorm(sum), one pass. */
  addForward(k: Kernels, sum: Float32Array, out: Float32Array, mean: Float32Array, rstd: Float32Array, a: Float32Array, b: Float32Array, rows: number): void {
    k.addLayerNormForward(sum, out, mean, rstd, a, b, this.w, this.b, rows, this.H, LN_EPS);
  }

  /** dx += ∂loss/∂x; accumulates the weight and bias gradients. */
  backward(k: Kernels, dx: Float32Array, dout: Float32Array, x: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number): void {
    k.layerNormBackward(dx, this.p.g(`${this.name}.weight`), this.p.g(`${this.name}.bias`), dout, x, mean, rstd, this.w, rows, this.H);
  }
}
