/**
 * The WebGPU backend: the matrix products run on a GPU, every other kernel is the TypeScript one.
 *
 * The kernel interface is synchronous and reading a GPU's results back is not (mapAsync), so the device lives
 * in another worker (src/web/gpu-worker.ts) and this side blocks on a SharedArrayBuffer: it writes the
 * operands into shared memory, posts the request and waits with Atomics.wait until the GPU worker has copied
 * the product back and notified. A model's weights are uploaded once (`pin`) into a GPU buffer; products with
 * them then move only the activations. Shared memory needs a cross-origin isolated page (COOP/COEP headers).
 */
import { tsKernels } from '../ts/kernels.js';
import type { Kernels } from '../types.js';
import { viewIndex } from '../view.js';

/** Where an operand is: at a float index of the shared data region, or of the pinned weights. */
export interface Operand {
  at: number;
  pinned: boolean;
}

export type GpuRequest =
  | { type: 'memory'; shared: SharedArrayBuffer }
  | { type: 'pin'; weights: Float32Array }
  | {
    type: 'matmul'; M: number; K: number; N: number; transB: boolean; accumulate: boolean;
    a: Operand; b: Operand; bias: Operand | null; c: number; inputs: number;
  };

/** Shared memory: a header (state, error length, error text), then the data region of floats. */
export const HEADER_BYTES = 4096;
export const State = { Idle: 0, Busy: 1, Done: 2, Failed: 3 } as const;

export interface WebgpuKernels extends Kernels {
  /** Uploads the weights once into a GPU buffer (Kernels.pin). */
  pin(weights: Float32Array): void;
}

/** The backend over a GPU worker reached by `post` (its replies come through the shared memory only). */
export function webgpuKernels(post: (req: GpuRequest) => void): WebgpuKernels {
  let shared = new SharedArrayBuffer(HEADER_BYTES + (1 << 20));
  let ctrl = new Int32Array(shared, 0, 2);
  let data = new Float32Array(shared, HEADER_BYTES);
  let pinned: Float32Array | null = null;

  /** Posts a request and blocks until the GPU worker has answered it. */
  const call = (req: GpuRequest): void => {
    Atomics.store(ctrl, 0, State.Busy);
    post(req);
    while (Atomics.load(ctrl, 0) === State.Busy) Atomics.wait(ctrl, 0, State.Busy);
    const state = Atomics.load(ctrl, 0);
    Atomics.store(ctrl, 0, State.Idle);
    if (state === State.Failed) {
      const text = new Uint8Array(shared, 8, ctrl[1]).slice(); // TextDecoder refuses shared memory
      throw new Error(`WebGPU: ${new TextDecoder().decode(text)}`);
    }
  };
  const reserve = (floats: number): void => {
    if (floats <= data.length) return;
    shared = new SharedArrayBuffer(HEADER_BYTES + Math.max(floats, 2 * data.length) * 4);
    ctrl = new Int32Array(shared, 0, 2);
    data = new Float32Array(shared, HEADER_BYTES);
    call({ type: 'memory', shared });
  };
  call({ type: 'memory', shared });

  function matmul(
    C: Float32Array, A: Float32Array, B: Float32Array, bias: Float32Array | null,
    M: number, K: number, N: number, transA: boolean, transB: boolean, accumulate: boolean,
  ): void {
    if (transA || M * N * K === 0) return tsKernels.matmul(C, A, B, bias, M, K, N, transA, transB, accumulate); // training / empty
    const copies: { src: Float32Array; n: number; at: number }[] = [];
    let end = 0;
    const place = (src: Float32Array, n: number, input: boolean): Operand => {
      const off = input ? viewIndex(pinned, src, n) : -1;
      if (off >= 0) return { at: off, pinned: true };
      const at = end;
      end += n + (-n & 63); // 256-byte aligned, so C can be copied back from the GPU
      copies.push({ src, n, at });
      return { at, pinned: false };
    };
    const a = place(A, M * K, true), b = place(B, K * N, true), bi = bias ? place(bias, N, true) : null;
    const inputs = end;
    const c = place(C, M * N, false).at;
    reserve(end);
    for (const { src, n, at } of copies) if (src !== C || accumulate) data.set(src.subarray(0, n), at);
    call({ type: 'matmul', M, K, N, transB, accumulate, a, b, bias: bi, c, inputs: accumulate ? end : inputs });
    C.set(data.subarray(c, c + M * N));
  }

  return {
    ...tsKernels,
    name: 'webgpu',
    matmul,
    matmulBiasGelu(out, pre, A, B, bias, M, K, N) {
      matmul(pre, A, B, bias, M, K, N, false, false, false);
      tsKernels.geluForward(out, pre, M * N);
    },
    pin(weights) {
      pinned = null;
      // posting a view clones its whole buffer: send only the weights
      const whole = weights.byteOffset === 0 && weights.byteLength === weights.buffer.byteLength;
      call({ type: 'pin', weights: whole ? weights : weights.slice() });
      pinned = weights;
    },
  };
}
