/** Reduced-precision inference: 16-bit weight products, 16-bit checkpoints kept as they are, bf16 against fp32. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import type { HalfType } from '../src/backend/types.js';
import { floatToBf16, floatToHalf, halfToFloat } from '../src/io/dtypes.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { loadModelFile, saveWeights } from '../src/io/weights.js';
import { BgptModel, type Batch } from '../src/model/bgpt.js';
import { Rng } from '../src/util/rng.js';
import { ROOT, everyBackend, relErr } from './helpers.js';

const randn = (n: number, rng: Rng, s = 1) => Float32Array.from({ length: n }, () => rng.normal() * s);
const narrow = (x: Float32Array, d: HalfType) => Uint16Array.from(x, (v) => (d === 'bf16' ? floatToBf16(v) : floatToHalf(v)));
const widen = (h: Uint16Array, d: HalfType) => Float32Array.from(h, (v) => (d === 'bf16' ? new Float32Array(Uint32Array.of(v << 16).buffer)[0] : halfToFloat(v)));

for (const { name, kernels: k, skip } of everyBackend()) {
  describe(`matmulW16 (${name})`, { skip }, () => {
    for (const dtype of ['bf16', 'f16'] as const) {
      it(`${dtype}: equals the fp32 product of the widened weights (few and many rows, odd sizes)`, () => {
        const rng = new Rng(2);
        for (const [M, K, N] of [[1, 70, 37], [5, 33, 600], [40, 130, 45]]) {
          const A = randn(M * K, rng), W = narrow(randn(K * N, rng, 0.1), dtype), bias = randn(N, rng);
          const got = new Float32Array(M * N), want = new Float32Array(M * N);
          k.matmulW16(got, A, W, bias, M, K, N, dtype);
          tsKernels.matmul(want, A, widen(W, dtype), bias, M, K, N, false, false, false);
          assert.ok(relErr(got, want) <= 1e-5, `${M}x${K}x${N}: ${relErr(got, want)}`);
        }
      });
    }
    it('rejects an unknown format', () => {
      const f = new Float32Array(4);
      assert.throws(() => k.matmulW16(f, f, new Uint16Array(4), null, 2, 2, 2, 'int8' as HalfType), /bf16.*f16/);
    });
  });

  describe(`16-bit inference (${name})`, { skip }, () => {
    const cfg = { patchSize: 4, patchLength: 8, hidden: 32, patchLayers: 2, byteLayers: 1, heads: 2 };
    const dir = mkdtempSync(join(tmpdir(), 'bgpt-prec-'));
    const rng = new Rng(4), m = new BgptModel(k, cfg, { rng });
    const file = join(dir, 'm.safetensors');
    saveWeights(file, m.layout, m.params.data);
    const tokens = Int32Array.from({ length: 2 * 8 * 4 }, () => rng.int(256));
    const batch: Batch = { tokens, masks: new Uint8Array(16).fill(1), B: 2, N: 8 };
    const bpb = (x: BgptModel) => x.forward(batch).loss / Math.LN2;

    it('bf16 and f16 weights change bits per byte by far less than 0.01', () => {
      const ref = bpb(loadModelFile(k, file).model as BgptModel);
      for (const precision of ['bf16', 'f16'] as const) {
        const h = loadModelFile(k, file, { precision }).model as BgptModel;
        assert.equal(h.params.half?.dtype, precision);
        const d = Math.abs(bpb(h) - ref);
        assert.ok(d < 1e-3 && d > 0, `${precision}: |Δbpb| = ${d}`);
      }
    });

    it('bf16-dot: bf16 weights and activations, bits per byte within 0.01 of fp32 and equal to the reference backend\'s', () => {
      const ref = bpb(loadModelFile(k, file).model as BgptModel), bf16 = bpb(loadModelFile(k, file, { precision: 'bf16' }).model as BgptModel);
      const h = loadModelFile(k, file, { precision: 'bf16-dot' }).model as BgptModel;
      assert.deepEqual([h.params.half?.dtype, h.params.half?.bf16Activations], ['bf16', true]);
      const dot = bpb(h), onTs = bpb(loadModelFile(tsKernels, file, { precision: 'bf16-dot' }).model as BgptModel);
      assert.ok(Math.abs(dot - ref) < 1e-2 && dot !== bf16, `bf16-dot ${dot}, bf16 ${bf16}, fp32 ${ref}`);
      assert.ok(Math.abs(dot - onTs) < 1e-5, `${name} ${dot} vs ts ${onTs}`);
    });

    it('keeps a bf16 checkpoint in 16 bits, bit for bit, unless fp32 is asked', () => {
      const f16file = join(dir, 'bf16.safetensors');
      writeSafetensors(f16file, m.layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: m.params.data.subarray(s.offset, s.offset + s.size), dtype: 'BF16' as const })));
      const h = loadModelFile(k, f16file, { precision: 'auto' }).model as BgptModel;
      assert.equal(h.params.half?.dtype, 'bf16');
      const name = 'patch_level_decoder.base.h.1.mlp.c_fc.weight';
      assert.deepEqual(h.params.w16(name), narrow(m.params.w(name), 'bf16'));
      assert.equal(loadModelFile(k, f16file).model.params.half, null);
    });
  });
}

describe('--precision', () => {
  it('names what is supported when given something else', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'eval', '-m', 'x.safetensors', '--precision', 'int8', 'y'], { encoding: 'utf8', env: { ...process.env, BGPT_BACKEND: 'ts' } });
    assert.notEqual(r.status, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /int8.*fp32, bf16, f16, bf16-dot/);
  });
});
