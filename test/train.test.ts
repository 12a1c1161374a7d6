/** Data rules for training (SPEC §1, §4, §6), the schedule, accumulation, exact resume, learning. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getKernels } from '../src/backend/index.js';
import {
  FileReader, conversionExamples, examplePatches, labelFromName, labelledExamples, parseConversion, splitHeldOut,
} from '../src/data/dataset.js';
import { sensorLog } from '../src/data/synthetic.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { cosineWithWarmup, warmupSteps } from '../src/optim/schedule.js';
import { lastPath, train, type StepLog, type TrainOptions } from '../src/tasks/train.js';
import { Rng } from '../src/util/rng.js';
import { ROOT } from './helpers.js';

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
    task: 'gen', train: [join(dir, 'train')], eval: [], evalSplit: 0.1, model: tiny, batchSize: 4, accumulation: 1,
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

  it('conversion pairs a->b and a&b build the SPEC §4 sequence', () => {
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

  it('learns structure: held-out bits per byte well below 8 and below a unigram model', async () => {
    const d = tmp();
    corpus(join(d, 'train'), 160, 7);
    corpus(join(d, 'eval'), 16, 8);
    const o = options(d, { eval: [join(d, 'eval')], epochs: 3, batchSize: 8, model: { ...tiny, hidden: 64, patchSize: 8, patchLength: 24 } });
    let last = Infinity;
    await train(k, o, { log: (r) => r.type === 'eval' && (last = r.loss / Math.LN2), warn: () => {} });
    // unigram entropy of the same corpus's bytes
    const counts = new Float64Array(257).fill(1);
    let n = 0;
    for (let i = 0; i < 160; i++) for (const b of readFileSync(join(d, 'train', `f${i}.log`))) counts[b]++, n++;
    let h = 0;
    for (let i = 0; i < 16; i++) for (const b of readFileSync(join(d, 'eval', `f${i}.log`))) h -= Math.log2(counts[b] / (n + 257));
    assert.ok(last < 3, `eval ${last} bits per byte`);
    assert.ok(last < 0.8 * (h / 16 / 30), `eval ${last} vs unigram`);
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
    const o = options(d, { task: 'cls', eval: [join(d, 'eval')], epochs: 4, batchSize: 6, lr: 3e-3 });
    let acc = 0;
    const r = await train(k, o, { log: (rec) => rec.type === 'eval' && (acc = rec.accuracy!), warn: () => {} });
    // ids in order of first appearance over the files in (sorted) walk order
    assert.deepEqual(r.labels, ['Digit.txt', 'Lower.txt', 'Upper.txt']);
    assert.ok(acc >= 0.95, `accuracy ${acc}`);
  });
});

describe('bgpt train (process)', () => {
  it('survives SIGKILL mid-run and resumes from the last checkpoint', async () => {
    const d = tmp();
    corpus(join(d, 'train'), 80);
    const cli = join(ROOT, 'dist', 'cli', 'main.js');
    const args = ['train', '--train', join(d, 'train'), '--out', join(d, 'm.safetensors'), '--hidden', '32', '--patch-layers', '1', '--byte-layers', '1',
      '--patch-size', '4', '--patch-length', '16', '--batch-size', '2', '--epochs', '30', '--eval-every', '5', '--lr', '1e-3'];
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'ignore' });
    // wait for the first saved state, then kill without warning
    const last = join(d, 'm.last.safetensors');
    for (let i = 0; i < 600 && !existsSync(last); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    assert.ok(existsSync(last), 'a last checkpoint exists');
    const before = loadCheckpoint(last).training!;
    const r = spawnSync(process.execPath, [cli, ...args, '--resume', '--max-steps', '3'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const after = loadCheckpoint(last).training!;
    assert.equal(Number(after.extra!.step), Number(before.extra!.step) + 3);
  });

  it('SIGTERM (and Ctrl-C) mid-run saves the state and exits cleanly', async () => {
    const d = tmp();
    corpus(join(d, 'train'), 80);
    const cli = join(ROOT, 'dist', 'cli', 'main.js');
    const log = join(d, 'log.jsonl');
    const child = spawn(process.execPath, [cli, 'train', '--train', join(d, 'train'), '--out', join(d, 'm.safetensors'), '--log', log,
      '--hidden', '32', '--patch-layers', '1', '--byte-layers', '1', '--patch-size', '4', '--patch-length', '16', '--batch-size', '2', '--epochs', '50'], { stdio: 'ignore' });
    const steps = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length : 0);
    for (let i = 0; i < 600 && steps() < 3; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 130);
    const saved = loadCheckpoint(join(d, 'm.last.safetensors')).training!;
    assert.ok(Number(saved.extra!.step) >= 3, `saved at step ${String(saved.extra!.step)}`);
    assert.equal(Number(saved.extra!.step), steps());
  });
});
