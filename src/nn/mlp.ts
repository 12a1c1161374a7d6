/** GPT-2 MLP: c_fc (H → 4H) → gelu_new → c_proj (4H → H). */
import type { Kernels } from '../backend/types.js';
import { Conv1D } from './linear.js';
import type { Params } from './params.js';

export interface MlpActs {
  fc: Float32Array; // [R, 4H] before gelu
  g: Float32Array; // [R, 4H] after gelu
}

export class Mlp {
  readonly cFc: Conv1D;
  readonly cProj: Conv1D;

  constructor(p: Params, prefix: string, readonly H: number) {
    this.cFc = new Conv1D(p, `${prefix}c_fc`, H, 4 * H);
    this.cProj = new Conv1D(p, `${prefix}c_proj`, 4 * H, H);
  }

  forward(k: Kernels, out: Float32Array, x: Float32Array, a: MlpActs, R: number): void {
    // fp32 weights: product, bias and gelu in one kernel; 16-bit weights (inference) take their own product
    if (this.cFc.w16) {
      this.cFc.forward(k, a.fc, x, R);
      k.geluForward(a.g, a.fc, R * 4 * this.H);
    } else k.matmulBiasGelu(a.g, a.fc, x, this.cFc.w, this.cFc.b, R, this.H, 4 * this.H);
    this.cProj.forward(k, out, a.g, R);
  }

  /** dx = ∂loss/∂x (overwritten); dg is scratch [R, 4H]. */
  backward(k: Kernels, dx: Float32Array, dout: Float32Array, x: Float32Array, a: MlpActs, dg: Float32Array, R: number): void {
    this.cProj.backward(k, dg, dout, a.g, R);
    // gelu' and c_fc's bias gradient in one pass over dg
    k.geluBackwardBiasGrad(dg, this.cFc.db, a.fc, dg, R, 4 * this.H, true);
    this.cFc.backward(k, dx, dg, x, R, false, false);
  }
}
