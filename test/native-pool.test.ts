/**
 * Decoding's products split on the addon's own threads (src/backend/native/pool.h): several JavaScript threads
 * calling them at once get correct results (one holds the helpers, the others run their products alone).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { loadNative, nativeAddonPath } from '../src/backend/native/index.js';
import { nativeSkip } from './helpers.js';

// Each thread: 300 products of one row [1, 300]·[300, 600] (weights big enough to be split) against a plain
// loop; every repeat must give the bits of the first.
const body = `
const { createRequire } = require('node:module');
const { workerData, parentPort } = require('node:worker_threads');
const addon = createRequire(workerData.file)(workerData.file);
const K = 300, N = 600;
let s = workerData.seed;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
const A = Float32Array.from({ length: K }, rnd), W = Float32Array.from({ length: K * N }, rnd), bias = Float32Array.from({ length: N }, rnd);
const want = new Float64Array(N);
for (let j = 0; j < N; j++) { let t = bias[j]; for (let k = 0; k < K; k++) t += A[k] * W[k * N + j]; want[j] = t; }
let first = null, worst = 0, differs = 0;
for (let r = 0; r < 300; r++) {
  const C = new Float32Array(N).fill(NaN);
  addon.matmul(C, A, W, bias, 1, K, N, false, false, false);
  for (let j = 0; j < N; j++) worst = Math.max(worst, Math.abs(C[j] - want[j]) / (Math.abs(want[j]) + 1));
  if (!first) first = C; else if (C.some((v, j) => !Object.is(v, first[j]))) differs++;
}
parentPort.postMessage({ worst, differs });
`;

describe('native product threads', { skip: nativeSkip() }, () => {
  it('products from several JavaScript threads at once are each correct', async () => {
    const loaded = loadNative();
    if ('error' in loaded) return;
    const n = loaded.kernels.threads();
    loaded.setThreads(2);
    try {
      const run = (seed: number) =>
        new Promise<{ worst: number; differs: number }>((resolve, reject) => {
          const w = new Worker(body, { eval: true, workerData: { file: nativeAddonPath(), seed } });
          w.once('message', resolve);
          w.once('error', reject);
        });
      const results = await Promise.all([1, 2, 3].map(run));
      for (const r of results) {
        assert.ok(r.worst < 1e-5, `largest error ${r.worst}`);
        assert.equal(r.differs, 0, 'a repeat gave other bits');
      }
    } finally {
      loaded.setThreads(n);
    }
  });
});
