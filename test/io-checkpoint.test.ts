/** Our checkpoint: bit-exact round trip, exact resume of AdamW training, loading it as a model, conversions. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import { checkpointOf, loadCheckpoint, restoreAdamW, saveCheckpoint, type Checkpoint, type TrainingState } from '../src/io/checkpoint.js';
import { exportPth } from '../src/io/export.js';
import { META } from '../src/io/meta.js';
import { PthSource } from '../src/io/pth/read-pth.js';
import { PyDict } from '../src/io/pth/pyvalue.js';
import { readSafetensorsHeader } from '../src/io/safetensors.js';
import { loadModelFile } from '../src/io/weights.js';
import { BgptModel } from '../src/model/bgpt.js';
import { BgptClassifier } from '../src/model/classifier.js';
import { AdamW } from '../src/optim/adamw.js';
import { cosineWithWarmup } from '../src/optim/schedule.js';
import { Rng } from '../src/util/rng.js';
import { VECTORS, batchOf, vectors } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'bgpt-io-ckpt-'));
const k = tsKernels;

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}
function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  const x = bits(a), y = bits(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
}

const TOTAL = 8, WARMUP = 2, BASE_LR = 1e-3;

/** One training step as a trainer takes it: patch sampling from `rng`, scheduled lr, unused wte skipped. */
function step(m: BgptModel, opt: AdamW, rng: Rng, i: number): number {
  const c = vectors.cases[i % vectors.cases.length];
  m.zeroGrad();
  const r = m.forward(batchOf(c), { grad: true, sample: 2, rng });
  m.backward();
  const wte = m.layout.get('patch_level_decoder.base.wte.weight');
  opt.update(m.params.data, m.params.grad!, BASE_LR * cosineWithWarmup(opt.step, TOTAL, WARMUP), [[wte.offset, wte.size]]);
  return r.loss;
}

function generative(): BgptModel {
  const m = loadModelFile(k, join(VECTORS, 'weights.pth'), { grad: true });
  return m.model as BgptModel;
}

describe('our checkpoint', () => {
  it('round-trips bit-exactly: parameters, AdamW moments and step, training state', () => {
    const m = generative(), opt = new AdamW(k, m.layout.size, { lr: BASE_LR, weightDecay: 0.02 }), rng = new Rng(5);
    for (let i = 0; i < 3; i++) step(m, opt, rng, i);
    rng.normal(); // leaves a cached spare normal in the state
    const training: TrainingState = {
      epoch: 2, bestEpoch: 1, bestEvalLoss: Infinity, bestEvalAcc: -0,
      schedule: { position: opt.step, warmupSteps: WARMUP, totalSteps: TOTAL, baseLr: BASE_LR },
      rng: { main: rng.getState(), fresh: new Rng(1).getState() },
      extra: { filesDone: 17, order: [3, 1, 2], note: 'x', tiny: 5e-324, nan: NaN },
    };
    const p = join(tmp, 'a.safetensors');
    saveCheckpoint(p, checkpointOf(m, { optimizer: opt, training, task: { kind: 'conversion', mode: 'abc->mid' } }));
    const back = loadCheckpoint(p);
    assertSameBits(back.params, m.params.data, 'params');
    assertSameBits(back.optimizer!.m, opt.m, 'm');
    assertSameBits(back.optimizer!.v, opt.v, 'v');
    assert.equal(back.optimizer!.step, 3);
    assert.deepEqual({ ...back.optimizer!, m: 0, v: 0 }, { ...opt.opts, step: 3, m: 0, v: 0 });
    assert.deepEqual(back.config, m.cfg);
    assert.deepEqual(back.task, { kind: 'conversion', mode: 'abc->mid' });
    assert.deepEqual(back.training, training); // deepEqual: Object.is on numbers, so NaN, −0 and Infinity count
    assert.ok(Object.is(back.training!.bestEvalAcc, -0));
    const r2 = new Rng(0);
    r2.setState(back.training!.rng!.main);
    assert.equal(r2.normal(), rng.normal());
    // weights only, when the moments are not wanted
    assert.equal(loadCheckpoint(p, { optimizer: false }).optimizer, undefined);
    // metadata schema, as other tools see it
    const md = readSafetensorsHeader(p).metadata;
    assert.equal(md[META.checkpoint], '1');
    assert.equal(md.format, 'pt');
    assert.deepEqual(JSON.parse(md[META.config]), m.cfg);
    assert.equal(readdirSync(tmp).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary file left');
  });

  it('restoring params + AdamW + RNG continues bit-identically to an uninterrupted run', () => {
    const STEPS = 6, CUT = 3;
    const a = generative(), optA = new AdamW(k, a.layout.size, { lr: BASE_LR }), rngA = new Rng(11);
    const lossesA: number[] = [];
    for (let i = 0; i < STEPS; i++) lossesA.push(step(a, optA, rngA, i));

    const b = generative(), optB = new AdamW(k, b.layout.size, { lr: BASE_LR }), rngB = new Rng(11);
    const lossesB: number[] = [];
    for (let i = 0; i < CUT; i++) lossesB.push(step(b, optB, rngB, i));
    const p = join(tmp, 'resume.safetensors');
    saveCheckpoint(p, checkpointOf(b, {
      optimizer: optB,
      training: { epoch: 0, bestEpoch: 0, bestEvalLoss: Infinity, schedule: { position: optB.step, warmupSteps: WARMUP, totalSteps: TOTAL, baseLr: BASE_LR }, rng: { main: rngB.getState() } },
    }));

    const ck = loadCheckpoint(p);
    const c = loadModelFile(k, p, { grad: true }).model as BgptModel;
    const optC = restoreAdamW(k, ck), rngC = new Rng(0);
    rngC.setState(ck.training!.rng!.main);
    assert.equal(optC.step, ck.training!.schedule!.position);
    for (let i = CUT; i < STEPS; i++) lossesB.push(step(c, optC, rngC, i));

    assert.deepEqual(lossesB, lossesA, 'same loss curve');
    assertSameBits(c.params.data, a.params.data, 'params after resume');
    assertSameBits(optC.m, optA.m, 'm after resume');
    assertSameBits(optC.v, optA.v, 'v after resume');
    // a state of another model's size is refused, not copied in part
    assert.throws(() => new AdamW(k, optA.size + 16).restore(optA), /moments, the model/);
  });

  it('a classifier checkpoint keeps its label names and loads as a model', () => {
    const cls = loadModelFile(k, join(VECTORS, 'cls.pth'));
    assert.equal(cls.kind, 'classification');
    const p = join(tmp, 'cls.safetensors');
    saveCheckpoint(p, checkpointOf(cls.model, { task: { kind: 'classification', labels: (cls.task as { labels: string[] }).labels } }));
    const back = loadModelFile(k, p);
    assert.equal(back.kind, 'classification');
    assert.deepEqual((back.task as { labels: string[] }).labels, ['a.txt', 'b.txt', 'c.txt']);
    assert.equal(back.meta?.format, 'checkpoint');
    assertSameBits(back.model.params.data, cls.model.params.data, 'classifier params');
    assert.throws(() => checkpointOf(cls.model, { task: { kind: 'classification', labels: ['a'] } }), /3 labels/);
    assert.ok(back.model instanceof BgptClassifier);
  });

  it('overwrites an existing checkpoint atomically', () => {
    const m = generative(), p = join(tmp, 'over.safetensors');
    saveCheckpoint(p, checkpointOf(m));
    m.params.data[0] += 1;
    saveCheckpoint(p, checkpointOf(m));
    assert.equal(loadCheckpoint(p).params[0], m.params.data[0]);
    assert.equal(readdirSync(tmp).filter((f) => f.endsWith('.tmp')).length, 0);
  });

  it('exports to .pth with the training record and, on request, the optimizer and schedule', () => {
    const m = generative(), opt = new AdamW(k, m.layout.size, { lr: BASE_LR }), rng = new Rng(2);
    for (let i = 0; i < 2; i++) step(m, opt, rng, i);
    const ck: Checkpoint = checkpointOf(m, { optimizer: opt, training: { epoch: 4, bestEpoch: 3, bestEvalLoss: 1.25, schedule: { position: 2, warmupSteps: WARMUP, totalSteps: TOTAL, baseLr: BASE_LR } } });
    const p = join(tmp, 'exp.pth');
    exportPth(p, ck, { optimizer: true });
    const back = loadCheckpoint(p);
    assertSameBits(back.params, m.params.data, 'exported params');
    assert.deepEqual(back.training, { epoch: 4, bestEpoch: 3, bestEvalLoss: 1.25 });
    const src = new PthSource(p);
    try {
      assert.deepEqual(src.info.keys, ['model', 'optimizer', 'lr_sched', 'epoch', 'best_epoch', 'min_eval_loss']);
      const state = ((src.root as PyDict).get('optimizer') as PyDict).get('state') as PyDict;
      assert.equal(state.map.size, m.layout.specs.length);
      const s0 = state.get(0) as PyDict;
      const name = m.layout.specs[0].name;
      assertSameBits(src.readRef('m', s0.get('exp_avg') as never), m.layout.view(opt.m, name), 'exp_avg');
      assert.equal(src.scalar(s0.get('step')), 2);
      assert.equal(((src.root as PyDict).get('lr_sched') as PyDict).get('last_epoch'), 2);
    } finally {
      src.close();
    }
    assert.throws(() => exportPth(join(tmp, 'no.pth'), { ...ck, optimizer: undefined }, { optimizer: true }), /no optimizer state/);
  });
});
