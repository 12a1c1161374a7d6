/** The exact kernels of the native addon (src/backend/native/exact.cc), or why they are not available. */
import { createRequire } from 'node:module';
import { loadNative, nativeAddonPath, nativeBuildCommand } from '../native/index.js';
import type { ExactKernels } from './types.js';

type Fn = (...a: unknown[]) => unknown;
const NAMES = ['exactLinear', 'exactLinear16', 'exactLayerNorm', 'exactGelu', 'exactAttend', 'exactPatchEmbed', 'exactFreqs', 'exactExp', 'exactTanh'] as const;

export type NativeExact = ExactKernels & { exp(x: number): number; tanh(u: number): number };

let cached: NativeExact | { error: string } | undefined;

export function loadNativeExact(): NativeExact | { error: string } {
  if (cached) return cached;
  const base = loadNative();
  if ('error' in base) return (cached = { error: base.error });
  // the same module object loadNative() loaded (require caches it by path)
  const addon = createRequire(import.meta.url)(nativeAddonPath()) as Record<string, Fn>;
  const missing = NAMES.filter((n) => typeof addon[n] !== 'function');
  if (missing.length) return (cached = { error: `native addon is stale (no ${missing.join(', ')}); rebuild it: ${nativeBuildCommand()}` });
  const a = addon as unknown as Record<(typeof NAMES)[number], Fn>;
  return (cached = {
    name: 'native',
    linear: a.exactLinear as NativeExact['linear'],
    linear16: a.exactLinear16 as NativeExact['linear16'],
    layerNorm: a.exactLayerNorm as NativeExact['layerNorm'],
    gelu: a.exactGelu as NativeExact['gelu'],
    attend: a.exactAttend as NativeExact['attend'],
    patchEmbed: a.exactPatchEmbed as NativeExact['patchEmbed'],
    freqs: a.exactFreqs as NativeExact['freqs'],
    exp: a.exactExp as NativeExact['exp'],
    tanh: a.exactTanh as NativeExact['tanh'],
  });
}
