/**
 * A file of named tensors opened for reading one tensor at a time (safetensors or a torch .pth archive), so
 * that loading a model needs memory for the model only, never for a second copy of the file.
 */
import type { DType } from './dtypes.js';

export interface TensorInfo {
  dtype: DType;
  shape: number[];
}

export interface TensorSource {
  readonly path: string;
  readonly format: 'safetensors' | 'pth';
  /** Every tensor in the file, in file order. */
  readonly tensors: Map<string, TensorInfo>;
  /** Tensor `name` as float32, written into `out` when given (its length must be the element count). */
  read(name: string, out?: Float32Array): Float32Array;
  /**
   * Elements [start, start + out.length) of tensor `name` (in its storage order) as float32 into `out`, or
   * null when the tensor is not stored contiguously (then use `read`). Lets a loader stream a tensor in
   * pieces with a small buffer.
   */
  readSlice?(name: string, start: number, out: Float32Array): Float32Array | null;
  close(): void;
}

export function numelOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Checks `out` against a tensor's size, or allocates it. */
export function outFor(name: string, shape: number[], out?: Float32Array): Float32Array {
  const n = numelOf(shape);
  if (!out) return new Float32Array(n);
  if (out.length !== n) throw new Error(`tensor ${name} has ${n} values, the destination ${out.length}`);
  return out;
}
