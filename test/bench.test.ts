/** The benchmark's limit: FLOPs from the shapes match the work the kernels are asked for; the record has it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nativeKernels, tsKernels } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/types.js';
import { BgptModel } from '../src/model/bgpt.js';
import { runBench, runPeak } from '../src/tasks/bench.js';
import { forwardFlops, trainFlops } from '../src/tasks/flops.js';
import { Rng } from '../src/util/rng.js';
import { nativeSkip } from './helpers.js';

/** The ts kernels, counting the FLOPs of every product and attention call they are given. */
function counting(): { k: Kernels; flops: () => number } {
  let f = 0;
  const k: Kernels = {
    ...tsKernels,
    matmul: (...a) => {
      f += 2 * a[4] * a[5] * a[6];
      tsKernels.matmul(...a);
    },
    matmulBiasGelu: (...a) => {
      f += 2 * a[5] * a[6] * a[7];
      tsKernels.matmulBiasGelu(...a);
    },
    attentionForward: (...a) => {
      f += 4 * a[4] * a[5] * a[5] * a[6]; // B·T²·H
      tsKernels.attentionForward(...a);
    },
    attentionBackward: (...a) => {
      f += 8 * a[4] * a[5] * a[5] * a[6];
      tsKernels.attentionBackward(...a);
    },
  };
  return { k, flops: () => f };
}

describe('bench limit', () => {
  const cfg = { patchSize: 4, patchLength: 6, hidden: 16, patchLayers: 2, byteLayers: 1, heads: 2 };
  const B = 3, N = cfg.patchLength;
  const batch = { tokens: Int32Array.from({ length: B * N * cfg.patchSize }, (_, i) => (i * 37) % 256), masks: new Uint8Array(B * N).fill(1), B, N };

  it('forward and training FLOPs equal the products and attention the model runs', () => {
    const c = counting();
    const model = new BgptModel(c.k, cfg, { rng: new Rng(1), grad: true });
    model.forward(batch, { grad: true });
    assert.equal(c.flops(), forwardFlops(cfg, B, N));
    model.backward();
    assert.equal(c.flops(), trainFlops(cfg, B, N));
  });

  // config a takes half a minute a step on the ts backend
  it('a train record carries FLOPs, the measured rate, limit_fraction and peak memory; peak has the rates', { skip: nativeSkip() }, () => {
    const k = nativeKernels()!;
    const r = runBench(k, 'a', 'train', { steps: 1, warmup: 0 });
    assert.equal(r.flops_per_step, trainFlops({ patchSize: 16, patchLength: 64, hidden: 128, patchLayers: 2, byteLayers: 1, heads: 2 }, 8, 64));
    assert.ok((r.matmul_gflops as number) > 0 && (r.gflops as number) > 0);
    const frac = (r.flops_per_step as number) / r.median_s / 1e9 / (r.matmul_gflops as number);
    assert.ok(Math.abs((r.limit_fraction as number) - frac) < 2e-3 + 1e-2 * frac, `${r.limit_fraction} vs ${frac}`);
    assert.ok((r.peak_rss_mib as number) > 10);
    const p = runPeak(k, 'a');
    assert.deepEqual(p.shape, [4096, 128, 512]);
    for (const g of [p.fwd_gflops, p.dx_gflops, p.dw_gflops, p.gflops]) assert.ok(g > 0);
  });
});
