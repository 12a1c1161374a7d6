/**
 * Loading a model for the task layer from bytes, a Blob or File, or a URL (fetched): any format bgpt reads
 * (torch .pth through the restricted unpickler, safetensors, bgpt checkpoints). Nothing in the file is ever
 * executed. In Node a plain path is read from disk as well.
 */
import { tsKernels } from '../backend/ts/kernels.js';
import type { Kernels } from '../backend/types.js';
import { bytesAccess } from '../io/access.js';
import { openTensorSource } from '../io/open.js';
import { modelOfWeights, readWeights, type LoadedModel, type Precision } from '../io/weights.js';

export type ModelSource = Uint8Array | Blob | URL | string;

export interface LoadOptions {
  /** The kernels the model runs on (default: the TypeScript ones; the Node entry point passes its backend's). */
  kernels?: Kernels;
  /** Matrix weights in fp32 (the default; compression needs them), or kept in 16 bits for faster inference ('auto': as the file stores them). */
  precision?: Precision | 'auto';
  /** The name errors give the model (default: the path or URL, or "model"). */
  name?: string;
}

const isUrl = (s: string) => /^(https?|blob|data|file):/i.test(s) || typeof (globalThis as { process?: unknown }).process === 'undefined';

/** The model in `source`; every error names it. */
export async function loadModelFrom(source: ModelSource, opts: LoadOptions = {}): Promise<LoadedModel> {
  const name = opts.name ?? (typeof source === 'string' ? source : source instanceof URL ? source.href : 'model');
  let bytes: Uint8Array | null = null;
  try {
    if (source instanceof Uint8Array) bytes = source;
    else if (typeof source !== 'string' && !(source instanceof URL)) bytes = new Uint8Array(await source.arrayBuffer());
    else if (source instanceof URL || isUrl(source)) {
      const r = await fetch(source);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      bytes = new Uint8Array(await r.arrayBuffer());
    }
    const src = bytes ? openTensorSource(name, bytesAccess(bytes)) : openTensorSource(name);
    try {
      const k = opts.kernels ?? tsKernels;
      return modelOfWeights(k, readWeights(src, opts.precision ?? 'fp32', k.alloc));
    } finally {
      src.close();
    }
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(name) ? msg : `${name}: ${msg}`);
  }
}
