/**
 * Exact kernels for the backend in use: the native ones when the process uses the native backend, else the
 * TypeScript ones. Both give the same bits; the choice only changes speed.
 */
import { getKernels } from '../index.js';
import { loadNativeExact } from './native.js';
import { tsExact } from './ts.js';
import type { ExactKernels } from './types.js';

export type { ExactKernels } from './types.js';
export { FREQ_SPREAD } from './types.js';
export { tsExact, expExact, tanhExact } from './ts.js';
export { loadNativeExact } from './native.js';

export function getExactKernels(): ExactKernels {
  if (getKernels().name !== 'native') return tsExact;
  const n = loadNativeExact();
  return 'error' in n ? tsExact : n;
}
