/**
 * The WebAssembly backend: the matrix products run in SIMD code compiled from matmul.cc (see
 * scripts/build-wasm.mjs); every other kernel is the TypeScript one. Typed arrays live in JavaScript's
 * memory, so each product copies its operands into the module's memory and the result back out — except a
 * model's weights, which `pin` copies in once: products with them then copy only the activations, which is
 * what makes generation (one row at a time) fast.
 */
import { tsKernels } from '../ts/kernels.js';
import type { Kernels } from '../types.js';
import { viewIndex } from '../view.js';

export interface WasmKernels extends Kernels {
  /** Keeps a copy of the weights in the module's memory (Kernels.pin). */
  pin(weights: Float32Array): void;
}

interface Exports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  matmul_nn(C: number, A: number, B: number, bias: number, M: number, K: number, N: number, accumulate: number): void;
  matmul_nt(C: number, A: number, B: number, bias: number, M: number, K: number, N: number, accumulate: number): void;
}

const PAGE = 65536;

/** The backend on a compiled kernels module (compile it with WebAssembly.compile or new WebAssembly.Module). */
export function wasmKernels(module: WebAssembly.Module): WasmKernels {
  const x = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  const base = align(x.__heap_base.value as number);
  let pinned: Float32Array | null = null;
  let scratch = base; // first byte after the pinned copy

  const reserve = (bytes: number): void => {
    const need = bytes - x.memory.buffer.byteLength;
    if (need > 0) x.memory.grow(Math.ceil(need / PAGE));
  };
  /** The address of `a`'s first n values when they are a view of the pinned weights, else -1. */
  const pinnedAt = (a: Float32Array, n: number): number => {
    const at = viewIndex(pinned, a, n);
    return at >= 0 ? base + at * 4 : -1;
  };

  function matmul(
    C: Float32Array, A: Float32Array, B: Float32Array, bias: Float32Array | null,
    M: number, K: number, N: number, transA: boolean, transB: boolean, accumulate: boolean,
  ): void {
    if (transA || M * N === 0) return tsKernels.matmul(C, A, B, bias, M, K, N, transA, transB, accumulate); // training only
    // lay out the operands that are not pinned after the pinned copy
    const parts: { a: Float32Array; n: number; at: number }[] = [];
    let end = scratch;
    const place = (a: Float32Array, n: number, input: boolean): number => {
      const p = input ? pinnedAt(a, n) : -1;
      if (p >= 0) return p;
      const at = end;
      end = align(end + n * 4);
      parts.push({ a, n, at });
      return at;
    };
    const pc = place(C, M * N, false), pa = place(A, M * K, true), pb = place(B, K * N, true);
    const pbias = bias ? place(bias, N, true) : 0;
    reserve(end);
    const heap = new Float32Array(x.memory.buffer);
    for (const { a, n, at } of parts) if (a !== C || accumulate) heap.set(a.subarray(0, n), at / 4);
    (transB ? x.matmul_nt : x.matmul_nn)(pc, pa, pb, pbias, M, K, N, accumulate ? 1 : 0);
    C.set(new Float32Array(x.memory.buffer, pc, M * N));
  }

  return {
    ...tsKernels,
    name: 'wasm',
    matmul,
    pin(weights) {
      reserve(base + weights.byteLength);
      new Float32Array(x.memory.buffer, base, weights.length).set(weights);
      pinned = weights;
      scratch = align(base + weights.byteLength);
    },
  };
}

function align(n: number): number {
  return Math.ceil(n / 16) * 16;
}
