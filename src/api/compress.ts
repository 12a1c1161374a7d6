/**
 * Lossless compression of bytes with a generative model (docs/compression.md): the model's exact path
 * (src/compress), on the exact kernels chosen once per process (TypeScript by default; the Node entry
 * point picks the native ones where they are built: the same bits either way).
 */
import { tsExact } from '../backend/exact/ts.js';
import type { ExactKernels } from '../backend/exact/types.js';
import { compressBytes, decompressBytes, decompressMany, type CodecOptions, type DecodeResult } from '../compress/codec.js';
import { ExactBgpt } from '../compress/exact-model.js';
import type { BgptModel } from '../model/bgpt.js';

let exactKernels: () => ExactKernels = () => tsExact;
const exactModels = new WeakMap<BgptModel, ExactBgpt>();

/** Where compression gets its exact kernels from now on (asked at each use, so the backend may change). */
export function useExactKernels(k: ExactKernels | (() => ExactKernels)): void {
  exactKernels = typeof k === 'function' ? k : () => k;
}

/** The model on the exact kernels (made once per model and kernels). */
export function exactOf(model: BgptModel): ExactBgpt {
  const k = exactKernels();
  let ex = exactModels.get(model);
  if (!ex || ex.k !== k) exactModels.set(model, (ex = new ExactBgpt(k, model)));
  return ex;
}

/** `bytes` as a .bgpz container; `ext` is the extension the model is told (and the container keeps). */
export function compress(model: BgptModel, bytes: Uint8Array, opts: CodecOptions & { ext?: string } = {}): Uint8Array {
  return compressBytes(exactOf(model), bytes, opts.ext ?? '', opts);
}

/** The bytes and extension a container holds; it must have been made with the same model. */
export function decompress(model: BgptModel, container: Uint8Array, opts: CodecOptions = {}): { bytes: Uint8Array; ext: string } {
  return decompressBytes(exactOf(model), container, opts);
}

/**
 * Many containers at once, decoded side by side (several times the speed of one after another): each result
 * is its bytes and extension, or the error that stopped that container alone.
 */
export function decompressAll(model: BgptModel, containers: Uint8Array[], opts: { onProgress?: (i: number, done: number, total: number) => void } = {}): (DecodeResult | Error)[] {
  return decompressMany(exactOf(model), containers, opts);
}
