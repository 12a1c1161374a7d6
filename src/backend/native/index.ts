/**
 * Loader of the native backend: the Node-API addon build/Release/bgpt_native.node (C++ over oneDNN and
 * OpenMP, built by `npm install` / `npm run build:native`), wrapped as a `Kernels`.
 *
 * loadNative() never throws: when the addon is missing, stale or cannot load (no libdnnl at run time …)
 * it returns `{ error }` and the caller falls back to the TypeScript backend.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kernels } from '../types.js';
import { alignedAllocator } from '../../util/aligned.js';

/** What the addon reports about itself: oneDNN version, OpenMP team size, CPU features it detected. */
export type NativeInfo = {
  onednn: string;
  threads: number;
  cpu: string[];
  /** oneDNN's implementation of a bf16 matrix product on this CPU ("" when it has none). */
  bf16: string;
  /** Whether decoding's bf16 products (--precision bf16-dot) run on the bf16 dot-product instruction (else emulated). */
  bf16Dot: boolean;
};

/** The addon's exports: every kernel (same signatures as Kernels) plus info and the thread setting. */
type NativeAddon = Omit<Kernels, 'name'> & {
  info(): NativeInfo;
  /** Sets the OpenMP team size (for oneDNN too); returns the size now in effect. */
  setThreads(n: number): number;
  /** Where a typed array's data lies modulo 64 bytes. */
  addressMod64(a: ArrayBufferView): number;
};

export type NativeLoad =
  | { kernels: Kernels; info: NativeInfo; setThreads: (n: number) => number; addressMod64: (a: ArrayBufferView) => number }
  | { error: string };

const KERNELS = [
  'matmul', 'matmulW16', 'matmulBf16', 'toBf16', 'matmulBiasGelu', 'biasGrad', 'addInPlace', 'layerNormForward', 'addLayerNormForward', 'layerNormBackward', 'geluForward',
  'geluBackward', 'geluBackwardBiasGrad', 'dropout', 'attentionForward', 'attentionBackward', 'attentionCached', 'patchEmbedForward', 'patchEmbedBackward',
  'embedForward', 'embedBackward', 'crossEntropy', 'softmax', 'adamw', 'threads',
] as const satisfies readonly (keyof Omit<Kernels, 'name'>)[];

/** The package root: this file lives three levels below it, in src/ (tsx) or dist/ (tsc). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function nativeAddonPath(): string {
  return path.join(ROOT, 'build', 'Release', 'bgpt_native.node');
}

/**
 * The command that builds the addon where this copy of bgpt is: `npm rebuild bgpt` in a project that depends on
 * it, `npm run build:native` in a clone of bgpt itself (there bgpt is the root package, which rebuild skips).
 */
export function nativeBuildCommand(): string {
  return ROOT.split(path.sep).includes('node_modules') ? 'npm rebuild bgpt' : `npm run build:native (in ${ROOT})`;
}

let cached: NativeLoad | undefined;

export function loadNative(): NativeLoad {
  if (cached) return cached;
  cached = load();
  return cached;
}

function load(): NativeLoad {
  const file = nativeAddonPath();
  if (!existsSync(file)) {
    return { error: `native addon not built (${file} missing)` };
  }
  // OpenMP threads that spin while waiting for work starve everything else on a busy machine (a 2-thread run
  // on 2 loaded cores slows by an order of magnitude); sleeping waits cost microseconds per parallel region.
  // libgomp reads this when the addon loads it, so it must be set first; a user's own setting wins.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    return { error: `native addon failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
  const missing = [...KERNELS, 'info', 'setThreads', 'addressMod64'].filter(
    (k) => typeof (addon as unknown as Record<string, unknown>)[k] !== 'function',
  );
  if (missing.length > 0) {
    return { error: `native addon is stale (no ${missing.join(', ')}); rebuild it: ${nativeBuildCommand()}` };
  }
  let info: NativeInfo;
  try {
    info = addon.info();
  } catch (e) {
    return { error: `native addon info() failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  // The addon's functions ignore `this`, so they are used directly: no wrapper on the hot path.
  const kernels: Kernels = {
    name: 'native',
    alloc: alignedAllocator(addon.addressMod64),
    matmul: addon.matmul,
    matmulW16: addon.matmulW16,
    matmulBf16: addon.matmulBf16,
    toBf16: addon.toBf16,
    matmulBiasGelu: addon.matmulBiasGelu,
    biasGrad: addon.biasGrad,
    addInPlace: addon.addInPlace,
    layerNormForward: addon.layerNormForward,
    addLayerNormForward: addon.addLayerNormForward,
    layerNormBackward: addon.layerNormBackward,
    geluForward: addon.geluForward,
    geluBackward: addon.geluBackward,
    geluBackwardBiasGrad: addon.geluBackwardBiasGrad,
    dropout: addon.dropout,
    attentionForward: addon.attentionForward,
    attentionBackward: addon.attentionBackward,
    attentionCached: addon.attentionCached,
    patchEmbedForward: addon.patchEmbedForward,
    patchEmbedBackward: addon.patchEmbedBackward,
    embedForward: addon.embedForward,
    embedBackward: addon.embedBackward,
    crossEntropy: addon.crossEntropy,
    softmax: addon.softmax,
    adamw: addon.adamw,
    threads: addon.threads,
  };
  return { kernels, info, setThreads: (n: number) => addon.setThreads(n), addressMod64: addon.addressMod64 };
}
