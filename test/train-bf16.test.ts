/**
 * bf16 mixed-precision training: the bf16 product kernels against fp32 products of rounded operands, the
 * fixture model's gradients and losses against fp32, fp32 master weights and checkpoints, and the command
 * line (the one-line refusal on CPUs without avx512_bf16 or AMX, the emulation override, bench).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BF16_FEATURES, bf16Products } from '../src/backend/bf16.js';
import { getNativeInfo, tsKernels } from '../src/backend/index.js';
import type { Kernels } from '../src/backend/types.js';
import { floatToBf16 } from '../src/io/dtypes.js';
import { readSafetensorsHeader } from '../src/io/safetensors.js';
import { loadModelFile } from '../src/io/weights.js';
import type { BgptModel } from '../src/model/bgpt.js';
import { AdamW } from '../src/optim/adamw.js';
import { Rng } from '../src/util/rng.js';
import { CLI, TINY, bgpt, logCorpus, logRecords, oneLineError, tmp } from './cli-run.js';
import { VECTORS, batchOf, everyBackend, nativeSkip, relErr, vectors } from './helpers.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const randn = (n: number, rng: Rng, s = 1) => Float32Array.from({ length: n }, () => rng.normal() * s);
const bf16Bits = (x: Float32Array) => Uint16Array.from(x, floatToBf16);
const bf16Values = (x: Float32Array) => new Float32Array(Uint32Array.from(bf16Bits(x), (h) => h << 16).buffer);
/** Values whose low 16 bits are not all zero (not representable in bf16). */
const notBf16 = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length).filter((u) => (u & 0xffff) !== 0).length;

for (const { name, kernels: k, skip } of everyBackend()) {
  describe(`bf16 product kernels (${name})`, { skip }, () => {
    it('toBf16 rounds to nearest even as torch does (ties, overflow, subnormals, infinities, NaN)', () => {
      const rng = new Rng(1), u = new Uint32Array(4000);
      for (let i = 0; i < u.length; i++) u[i] = rng.nextU32();
      // exact ties (low half 0x8000) with even and odd upper halves, and the largest floats (round to inf)
      u.set([0x3f808000, 0x3f818000, 0xbf808000, 0x7f7fffff, 0xff7fffff, 0x00008000, 0x00018001, 0x7f800000, 0xff800000, 0, 0x80000000]);
      const x = new Float32Array(u.buffer), got = new Uint16Array(x.length);
      k.toBf16(got, x, x.length);
      for (let i = 0; i < x.length; i++) {
        if (Number.isNaN(x[i])) assert.ok((got[i] & 0x7f80) === 0x7f80 && (got[i] & 0x7f) !== 0, `NaN ${u[i].toString(16)} → ${got[i].toString(16)}`);
        else assert.equal(got[i], floatToBf16(x[i]), `${x[i]} (0x${u[i].toString(16)})`);
      }
    });

    it('matmulBf16 is the fp32 product of the bf16-rounded operands (transposes, bias, accumulate, bf16 or fp32 operands)', () => {
      const rng = new Rng(2);
      for (const [M, K, N] of [[3, 70, 37], [40, 129, 45], [1, 8, 300]]) {
        for (const [tA, tB, acc, bias, asBits] of [[false, false, false, true, false], [false, true, true, false, true], [true, false, true, false, false], [true, true, false, true, true]] as const) {
          const A = randn(M * K, rng), B = randn(K * N, rng, 0.1), b = bias ? randn(N, rng) : null, C0 = randn(M * N, rng);
          const got = C0.slice(), want = C0.slice(), fp32 = C0.slice();
          k.matmulBf16(got, A, asBits ? bf16Bits(B) : B, b, M, K, N, tA, tB, acc);
          tsKernels.matmul(want, bf16Values(A), bf16Values(B), b, M, K, N, tA, tB, acc);
          tsKernels.matmul(fp32, A, B, b, M, K, N, tA, tB, acc);
          const what = `${M}x${K}x${N} tA ${tA} tB ${tB} acc ${acc} bias ${bias} bits ${asBits}`;
          assert.ok(relErr(got, want) <= 1e-5, `${what}: ${relErr(got, want)}`);
          // and the operands really were rounded: bf16 keeps 8 significant bits
          assert.ok(relErr(got, fp32) > 1e-4, `${what}: as fp32 (${relErr(got, fp32)})`);
        }
      }
      // K = 0: no products, C = bias (+ C)
      const C = Float32Array.of(1, 2, 3, 4);
      k.matmulBf16(C, new Float32Array(0), new Uint16Array(0), Float32Array.of(10, 20), 2, 0, 2, false, false, true);
      assert.deepEqual([...C], [11, 22, 13, 24]);
    });
  });

  describe(`bf16 mixed-precision training of the fixture model (${name})`, { skip }, () => {
    const load = (kk: Kernels) => loadModelFile(kk, join(VECTORS, 'weights.safetensors'), { grad: true }).model as BgptModel;
    const bf16Model = () => {
      const bf = bf16Products(k), m = load(bf.kernels);
      bf.attach(m.params.data);
      return { bf, m };
    };
    const batch = batchOf(vectors.cases.find((c) => c.name === 'batch_padded')!);

    it('every product goes through matmulBf16, weights from the bf16 copy, and nothing else changes', () => {
      const calls = new Map<string, number>(), weightsAsBits: boolean[] = [];
      const counting = Object.fromEntries(Object.entries(k).map(([key, f]) => [key, typeof f !== 'function' ? f : (...a: unknown[]) => {
        calls.set(key, (calls.get(key) ?? 0) + 1);
        if (key === 'matmulBf16') weightsAsBits.push(a[1] instanceof Uint16Array || a[2] instanceof Uint16Array);
        return (f as (...x: unknown[]) => unknown)(...a);
      }])) as unknown as Kernels;
      const bf = bf16Products(counting), m = load(bf.kernels);
      bf.attach(m.params.data);
      m.forward(batch, { grad: true });
      m.backward();
      const products = [...calls.keys()].filter((c) => c.startsWith('matmul'));
      assert.deepEqual(products, ['matmulBf16'], `product kernels called: ${products}`);
      // every product has a weight operand except dW = Xᵀ·dY (one per Conv1D) and the tied wte's gradient
      assert.ok(weightsAsBits.filter(Boolean).length >= weightsAsBits.length / 2, `weights as bf16 in ${weightsAsBits.filter(Boolean).length} of ${weightsAsBits.length}`);
    });

    it('gradients are within bf16 tolerance of fp32 (2e-2 of each tensor\'s largest value) and not equal to them', () => {
      const f = load(k), { m } = bf16Model();
      for (const x of [f, m]) {
        x.forward(batch, { grad: true });
        x.backward();
      }
      let worst = 0;
      for (const s of f.layout.specs) {
        if (s.name === 'patch_level_decoder.base.wte.weight') continue; // never used: no gradient
        const e = relErr(m.layout.view(m.params.grad!, s.name), f.layout.view(f.params.grad!, s.name));
        assert.ok(e <= 2e-2, `${s.name}: ${e}`);
        worst = Math.max(worst, e);
      }
      assert.ok(worst > 1e-4, `bf16 gradients equal fp32 ones (${worst}): the products were not bf16`);
    });

    it('training steps track the fp32 losses within 0.1 %, with fp32 master weights', () => {
      const f = load(k), { bf, m } = bf16Model();
      const opts = { lr: 1e-3, weightDecay: 0.01 };
      const of = new AdamW(k, f.layout.size, opts), om = new AdamW(k, m.layout.size, opts);
      for (let step = 0; step < 8; step++) {
        for (const [x, o] of [[f, of], [m, om]] as const) {
          x.zeroGrad();
          x.forward(batch, { grad: true });
          x.backward();
          o.update(x.params.data, x.params.grad!);
        }
        bf.refresh();
        const lf = f.forward(batch).loss, lm = m.forward(batch).loss;
        assert.ok(Math.abs(lm - lf) / lf <= 1e-3, `step ${step + 1}: bf16 ${lm} vs fp32 ${lf}`);
      }
      // the masters hold what bf16 cannot, and an update far below a bf16 step still moves them
      const p = m.params.data;
      assert.ok(notBf16(p) > p.length / 2, `${notBf16(p)} of ${p.length} parameters are not bf16 numbers`);
      const before = p.slice();
      m.zeroGrad();
      m.forward(batch, { grad: true });
      m.backward();
      new AdamW(k, m.layout.size, { lr: 1e-7, weightDecay: 0 }).update(p, m.params.grad!);
      let moved = 0;
      for (let i = 0; i < p.length; i++) if (p[i] !== before[i] && Math.abs(p[i] - before[i]) < Math.abs(before[i]) * 2 ** -10) moved++;
      assert.ok(moved > p.length / 2, `${moved} of ${p.length} parameters took an update smaller than half a bf16 step`);
    });
  });
}

const cpuHasBf16 = () => BF16_FEATURES.some((f) => getNativeInfo()?.cpu.includes(f));
const emulated = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, BGPT_BF16_EMULATE: '1' } });

describe('bgpt train --precision bf16', { skip: nativeSkip() }, () => {
  const dir = tmp('bf16'), data = logCorpus(join(dir, 'train'), 24);

  it('refuses in one line on a CPU without avx512_bf16 or AMX, naming what is missing and what is supported', { skip: cpuHasBf16() && 'this CPU has bf16 hardware: nothing to refuse' }, () => {
    const out = join(dir, 'refused.safetensors');
    oneLineError(bgpt('train', '--train', data, '--out', out, ...TINY, '--precision', 'bf16'), 'avx512_bf16', 'AMX', 'this CPU', 'supported here: --precision fp32', 'BGPT_BF16_EMULATE=1');
    assert.ok(!existsSync(`${out}.log.jsonl`), 'nothing written');
    oneLineError(bgpt('bench', '--config', 'a', '--what', 'train', '--precision', 'bf16'), 'avx512_bf16', 'supported here');
  });

  it('rejects a precision training does not have in one line', () => {
    oneLineError(bgpt('train', '--train', data, '--out', join(dir, 'f16.safetensors'), ...TINY, '--precision', 'f16'), '--precision "f16"', 'fp32, bf16');
  });

  it('trains (emulated where the CPU lacks bf16) along the fp32 losses, and writes fp32 checkpoints that resume', () => {
    const out = join(dir, 'm.safetensors'), args = ['--train', data, ...TINY, '--batch-size', '4', '--epochs', '1', '--lr', '1e-2'];
    const f = bgpt('train', ...args, '--out', join(dir, 'f.safetensors'), '--max-steps', '5');
    const r = emulated('train', ...args, '--out', out, '--max-steps', '5', '--precision', 'bf16');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(f.code, 0, f.err);
    assert.match(r.stdout, /precision: bf16 products/);
    // the same run (seed, batches, dropout masks) but for the products' rounding; the loss falls by over 10 % meanwhile
    const lf = logRecords(join(dir, 'f.safetensors.log.jsonl'), 'step').map((x) => x.loss), lb = logRecords(`${out}.log.jsonl`, 'step').map((x) => x.loss);
    assert.equal(lb.length, 5);
    assert.ok(lf[4] < 0.9 * lf[0], `fp32 losses ${lf}`);
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(lb[i] - lf[i]) <= 1e-3 * lf[i] && lb[i] !== lf[i], `step ${i + 1}: bf16 ${lb[i]} vs fp32 ${lf[i]}`);
    const last = join(dir, 'm.last.safetensors'), h = readSafetensorsHeader(last);
    const dtypes = new Set([...h.entries.values()].map((e) => e.dtype));
    assert.deepEqual([...dtypes], ['F32'], `checkpoint dtypes ${[...dtypes]}`);
    const p = loadModelFile(tsKernels, last).model.params.data;
    assert.ok(notBf16(p) > p.length / 2, `only ${notBf16(p)} of ${p.length} saved values carry more than bf16`);
    const again = emulated('train', ...args, '--out', out, '--max-steps', '2', '--precision', 'bf16', '--resume');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /"resumed_at":5/);
  });

  it('bench --what train --precision bf16 reports the same fields as fp32', () => {
    const run = (...extra: string[]) => {
      const r = emulated('bench', '--config', 'a', '--what', 'train', '--steps', '1', '--warmup', '0', ...extra);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    };
    const f = run(), b = run('--precision', 'bf16');
    assert.deepEqual(Object.keys(b).sort(), Object.keys(f).sort());
    assert.equal(b.precision, 'bf16');
    assert.equal(f.precision, 'fp32');
    assert.ok(Math.abs((b.loss_first as number) - (f.loss_first as number)) < 1e-2 * (f.loss_first as number), `${b.loss_first} vs ${f.loss_first}`);
    oneLineError(bgpt('bench', '--config', 'a', '--what', 'train', '--precision', 'f16'), 'f16', 'fp32 or bf16');
  });
});
