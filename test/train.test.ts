/** Data rules for training (docs/format.md §1, §4, §6), the schedule, accumulation, exact resume, learning. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getKernels } from '../src/backend/index.js';
import {
  FileReader, conversionExamples, examplePatches, labelFromName, labelledExamples, parseConversion, splitHeldOut,
} from '../src/data/dataset.js';
import { filePatches, truncate } from '../src/data/patches.js';
import { sensorLog } from '../src/data/synthetic.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { cosineWithWarmup, warmupSteps } from '../src/optim/schedule.js';
import { epochPath, lastPath, train, type StepLog, type TrainOptions } from '../src/tasks/train.js';
import { Rng } from '../src/util/rng.js';

const k = getKernels();
const tmp = () => mkdtempSync(join(tmpdir(), 'bgpt-train-'));
const tiny = { patchSize: 4, patchLength: 16, hidden: 32, patchLayers: 1, byteLayers: 1, heads: 1 };

function corpus(dir: string, n: number, seed = 1): string {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.log`), sensorLog(rng, 1 + rng.int(2)));
  return dir;
}

function options(dir: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    task: 'generative', train: [join(dir, 'train')], eval: [], evalSplit: 0.1, model: tiny, batchSize: 4, accumulation: 1,
    epochs: 2, lr: 3e-3, warmup: 0.1, weightDecay: 0.01, patchSampling: 0, dropout: 0, evalEvery: 0, seed: 3, out: join(dir, 'm.safetensors'),
    ...over,
  };
}

async function run(o: TrainOptions) {
  const steps: StepLog[] = [];
  const r = await train(k, o, { log: (rec) => rec.type === 'step' && steps.push(rec), warn: () => {} });
  return { r, steps };
}

describe('training data', () => {
  it('labels from file names and folders, ids in order of first appearance', () => {
    assert.equal(labelFromName('x/Business_12.txt'), 'Business.txt');
    assert.equal(labelFromName('Sports_a_b.txt'), 'Sports.txt');
    assert.equal(labelFromName('noext_3'), 'noext');
    const d = tmp();
    for (const [f, c] of [['cat/1.bmp', 'x'], ['dog/2.bmp', 'y'], ['cat/3.bmp', 'z']]) {
      mkdirSync(join(d, f, '..'), { recursive: true });
      writeFileSync(join(d, f), c);
    }
    const r = labelledExamples([d], true);
    assert.deepEqual(r.labels, ['cat', 'dog']);
    assert.deepEqual(r.examples.map((e) => (e.kind === 'labelled' ? e.label : -1)), [0, 0, 1]);
    assert.throws(() => labelledExamples([d], false, ["1.bmp"], true), /3.bmp: label "3.bmp" is not one of the model.s 1 labels/);
  });

  it('conversion pairs a->b and a&b build the docs/format.md §4 sequence', () => {
    const d = tmp();
    writeFileSync(join(d, 'x.abc'), 'abcde');
    writeFileSync(join(d, 'x.mid'), 'MThd');
    writeFileSync(join(d, 'lonely.abc'), 'no partner');
    const one = conversionExamples([d], parseConversion('abc->mid'));
    assert.equal(one.length, 1);
    const p = examplePatches(one[0], new FileReader(), 4, 16, 'head')!;
    // input without its end patch, then the target with its header
    assert.deepEqual([...p.patches], [97, 98, 99, 256, 97, 98, 99, 100, 101, 256, 256, 256, 109, 105, 100, 256, 77, 84, 104, 100, 256, 256, 256, 256]);
    assert.equal(p.targetStart, 3);
    const both = conversionExamples([d], parseConversion('abc&mid'));
    assert.deepEqual(both.map((e) => (e.kind === 'pair' ? `${e.input}>${e.target}` : '')).map((s) => s.split(d).join('')), ['/x.abc>/x.mid', '/x.mid>/x.abc']);
    assert.throws(() => parseConversion('abc'), /conversion mode/);
  });

  it('held-out split is seeded and unreadable files are skipped once', () => {
    const a = splitHeldOut([...Array(200).keys()], 0.01, new Rng(1)), b = splitHeldOut([...Array(200).keys()], 0.01, new Rng(1));
    assert.deepEqual(a.held, b.held);
    assert.equal(a.held.length, 2);
    const warned: string[] = [];
    const r = new FileReader((m) => warned.push(m));
    assert.equal(r.read('/nonexistent/file'), null);
    assert.equal(r.read('/nonexistent/file'), null);
    assert.equal(warned.length, 1);
  });
});

describe('schedule', () => {
  it('linear warm-up then cosine to zero', () => {
    assert.equal(warmupSteps(100, 0.1), 10);
    assert.equal(cosineWithWarmup(0, 100, 10), 0);
    assert.equal(cosineWithWarmup(5, 100, 10), 0.5);
    assert.equal(cosineWithWarmup(10, 100, 10), 1);
    assert.ok(Math.abs(cosineWithWarmup(55, 100, 10) - 0.5) < 1e-12);
    assert.ok(Math.abs(cosineWithWarmup(32.5, 100, 10) - 0.5 * (1 + Math.cos(Math.PI * 0.25))) < 1e-12);
    assert.equal(cosineWithWarmup(100, 100, 10), 0);
  });
});

describe('trainer', () => {
  it('gradient accumulation equals one big batch', async () => {
    const d = tmp();
    corpus(join(d, 'train'), 24);
    const big = options(d, { out: join(d, 'big.safetensors'), batchSize: 8, accumulation: 1, maxSteps: 1, epochs: 1 });
    const acc = options(d, { out: join(d, 'acc.safetensors'), batchSize: 4, accumulation: 2, maxSteps: 1, epochs: 1 });
    const a = await run(big), b = await run(acc);
    assert.ok(Math.abs(a.steps[0].loss - b.steps[0].loss) < 1e-6 * a.steps[0].loss, `${a.steps[0].loss} vs ${b.steps[0].loss}`);
    const pa = loadCheckpoint(lastPath(big.out)).params, pb = loadCheckpoint(lastPath(acc.out)).params;
    let worst = 0;
    for (let i = 0; i < pa.length; i++) worst = Math.max(worst, Math.abs(pa[i] - pb[i]));
    assert.ok(worst < 1e-6, `parameters differ by ${worst}`);
  });

  it('resumes exactly: the same loss curve as an uninterrupted run (with dropout and patch sampling)', async () => {
    const d = tmp();
    corpus(join(d, 'train'), 40);
    const full = await run(options(d, { out: join(d, 'full.safetensors'), patchSampling: 3, dropout: 0.1 }));
    const o = options(d, { out: join(d, 'part.safetensors'), patchSampling: 3, dropout: 0.1 });
    const first = await run({ ...o, maxSteps: 5 });
    assert.equal(first.r.stopped, 'max-steps');
    const rest = await run({ ...o, resume: true });
    const losses = [...first.steps, ...rest.steps].map((s) => s.loss);
    assert.deepEqual(losses, full.steps.map((s) => s.loss));
    assert.deepEqual(loadCheckpoint(lastPath(o.out)).params, loadCheckpoint(lastPath(join(d, 'full.safetensors'))).params);
  });

  it('--keep-epochs keeps each epoch\'s end state beside the checkpoint', async () => {
    const d = tmp();
    corpus(join(d, 'train'), 40);
    const o = options(d, { keepEpochs: true, epochs: 3 });
    const { steps } = await run(o);
    // 36 training files (10 % held out) in batches of 4: 9 steps per epoch
    const perEpoch = steps.length / 3;
    assert.equal(perEpoch, 9);
    for (const n of [1, 2, 3]) assert.equal(loadCheckpoint(epochPath(o.out, n)).training?.epoch, n, `epoch ${n}`);
    assert.deepEqual(loadCheckpoint(epochPath(o.out, 3)).params, loadCheckpoint(lastPath(o.out)).params);
    assert.equal(epochPath('a/m.safetensors', 2), 'a/m.epoch-2.safetensors');
  });

  it('learns structure: held-out bits per byte well below 8 and below a unigram model', async () => {
    const d = tmp();
    corpus(join(d, 'train'), 160, 7);
    corpus(join(d, 'eval'), 16, 8);
    const o = options(d, { eval: [join(d, 'eval')], epochs: 3, batchSize: 8, model: { ...tiny, hidden: 64, patchSize: 8, patchLength: 24 } });
    let last = Infinity;
    await train(k, o, { log: (r) => r.type === 'eval' && (last = r.loss / Math.LN2), warn: () => {} });
    // a unigram model (add-one smoothed) of exactly the tokens the model is scored on: every token of every
    // patch after the header — the bytes, the <eop> padding of the last data patch and the end patch
    const { patchSize: S, patchLength: L } = o.model;
    const predicted = (split: string, n: number) =>
      Array.from({ length: n }, (_, i) => [...truncate(filePatches(readFileSync(join(d, split, `f${i}.log`)), 'log', S), S, L, 'head').subarray(S)]).flat();
    const counts = new Float64Array(257).fill(1);
    for (const t of predicted('train', 160)) counts[t]++;
    const total = counts.reduce((a, b) => a + b), held = predicted('eval', 16);
    const unigram = held.reduce((h, t) => h - Math.log2(counts[t] / total), 0) / held.length;
    assert.ok(last < 3, `eval ${last} bits per predicted token`);
    assert.ok(last < 0.8 * unigram, `eval ${last} vs unigram ${unigram} bits per predicted token`);
  });

  it('classification reaches ≥ 95 % on an easy synthetic task', async () => {
    const d = tmp();
    const rng = new Rng(5);
    const kinds: Record<string, string> = { Lower: 'abcdefghijklmnopqrstuvwxyz', Digit: '0123456789', Upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' };
    for (const split of ['train', 'eval']) {
      mkdirSync(join(d, split));
      for (let i = 0; i < (split === 'train' ? 90 : 30); i++) {
        const [label, chars] = Object.entries(kinds)[i % 3];
        const text = Array.from({ length: 8 + rng.int(20) }, () => chars[rng.int(chars.length)]).join('');
        writeFileSync(join(d, split, `${label}_${i}.txt`), text);
      }
    }
    const o = options(d, { task: 'classification', eval: [join(d, 'eval')], epochs: 4, batchSize: 6, lr: 3e-3 });
    let acc = 0;
    const r = await train(k, o, { log: (rec) => rec.type === 'eval' && (acc = rec.accuracy!), warn: () => {} });
    // ids in order of first appearance over the files in (sorted) walk order
    assert.deepEqual(r.labels, ['Digit.txt', 'Lower.txt', 'Upper.txt']);
    assert.ok(acc >= 0.95, `accuracy ${acc}`);
  });
});
