/**
 * Backend selection, made once per process: the native addon when it is built (or BGPT_BACKEND=native),
 * else the TypeScript reference, with one warning saying how to get the fast one.
 */
import { loadNative, nativeBuildCommand, type NativeInfo } from './native/index.js';
import { tsKernels } from './ts/kernels.js';
import type { Kernels } from './types.js';

export type { Kernels } from './types.js';
export { tsKernels } from './ts/kernels.js';

/** What to type for the fast backend, where this copy of bgpt is (a dependency or a clone). */
const nativeHint = (): string => `for the fast native backend: apt-get install -y g++ make python3 libdnnl-dev, then ${nativeBuildCommand()}`;

let chosen: Kernels | null = null;
let nativeInfo: NativeInfo | null = null;
let nativeError: string | null = null;
let warned = false;

/** The native backend, or null (with the reason in `nativeLoadError()`). */
export function nativeKernels(): Kernels | null {
  if (native || nativeError) return native;
  const r = loadNative();
  if ('error' in r) {
    nativeError = r.error;
    return null;
  }
  native = r.kernels;
  nativeInfo = r.info;
  return native;
}
let native: Kernels | null = null;

export function nativeLoadError(): string | null {
  return nativeError;
}

export function getNativeInfo(): NativeInfo | null {
  nativeKernels();
  return nativeInfo;
}

/** The backend every model uses unless given another. */
export function getKernels(): Kernels {
  if (chosen) return chosen;
  const want = (process.env.BGPT_BACKEND ?? '').trim().toLowerCase();
  if (want && want !== 'ts' && want !== 'native') throw new Error(`BGPT_BACKEND must be "ts" or "native", not "${want}"`);
  if (want === 'ts') return (chosen = tsKernels);
  const n = nativeKernels();
  if (n) return (chosen = n);
  if (want === 'native') throw new Error(`BGPT_BACKEND=native but the native backend could not be loaded: ${nativeError}`);
  if (!warned) {
    warned = true;
    process.stderr.write(`bgpt: warning: using the slower TypeScript backend (native addon not available: ${nativeError}); ${nativeHint()}\n`);
  }
  return (chosen = tsKernels);
}
