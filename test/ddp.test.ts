/**
 * Scaling out (python/train_ddp.py): a bgpt run exported with its optimizer, continued by two gloo processes
 * under PyTorch DDP, then continued again by bgpt — weights, moments and step carry over, the loss has no jump.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getKernels } from '../src/backend/index.js';
import { sensorLog } from '../src/data/synthetic.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { exportPth } from '../src/io/export.js';
import { lastPath, train, type StepLog, type TrainOptions } from '../src/tasks/train.js';
import { Rng } from '../src/util/rng.js';
import { PYTHON, ROOT, TORCH_REF, torchSkip } from './helpers.js';

const gloo = torchSkip() || (spawnSync(PYTHON, ['-c', 'import torch.distributed as d; assert d.is_available() and d.is_gloo_available()']).status === 0 ? false : `${PYTHON}'s torch has no gloo backend`);

/** Two gloo processes on the CPU; the JSON lines rank 0 printed. */
function ddpRun(args: string[]): Record<string, number | string>[] {
  const r = spawnSync(PYTHON, [join(TORCH_REF, 'train_ddp.py'), '--nproc', '2', '--backend', 'gloo', ...args], {
    encoding: 'utf8', cwd: ROOT, env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  assert.equal(r.status, 0, `train_ddp failed:\n${r.stderr.slice(-3000)}`);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

describe('scaling out with PyTorch DDP', { skip: gloo }, () => {
  it('bgpt → export → two DDP processes → bgpt resumes: weights, moments and step carry over, the loss continues', async () => {
    const d = mkdtempSync(join(tmpdir(), 'bgpt-ddp-'));
    const data = join(d, 'train');
    mkdirSync(data);
    const rng = new Rng(5);
    for (let i = 0; i < 48; i++) writeFileSync(join(data, `f${i}.log`), sensorLog(rng, 1 + rng.int(2)));
    const o: TrainOptions = {
      task: 'generative', train: [data], eval: [], evalSplit: 0.1, batchSize: 4, accumulation: 1, epochs: 3, lr: 3e-3, warmup: 0.1,
      weightDecay: 0.01, patchSampling: 0, dropout: 0, evalEvery: 0, seed: 3, out: join(d, 'm.safetensors'),
      model: { patchSize: 4, patchLength: 16, hidden: 32, patchLayers: 1, byteLayers: 1, heads: 1 },
    };
    const run = async (over: Partial<TrainOptions>) => {
      const steps: StepLog[] = [];
      let resumedAt: number | undefined;
      await train(getKernels(), { ...o, ...over }, { log: (r) => (r.type === 'step' ? steps.push(r) : r.type === 'info' && (resumedAt = r.resumed_at as number)), warn: () => {} });
      return { steps, resumedAt };
    };
    const first = await run({ maxSteps: 12 });
    const start = loadCheckpoint(lastPath(o.out));
    exportPth(join(d, 'start.pth'), start, { optimizer: true });

    // no steps: what comes back is exactly what went out (names, moments, step mapped one to one)
    const same = join(d, 'same.safetensors');
    ddpRun(['--init', join(d, 'start.pth'), '--train', data, '--out', same, '--steps', '0', '--batch-size', '2']);
    const back = loadCheckpoint(same);
    assert.deepEqual(back.params, start.params);
    assert.deepEqual(back.optimizer!.m, start.optimizer!.m);
    assert.deepEqual(back.optimizer!.v, start.optimizer!.v);
    assert.equal(back.optimizer!.step, 12);

    // six steps on two processes, written where bgpt's --resume looks
    const lines = ddpRun(['--init', join(d, 'start.pth'), '--train', data, '--out', lastPath(o.out), '--steps', '6', '--batch-size', '2']);
    const ddp = lines.filter((l) => l.loss !== undefined).map((l) => l.loss as number);
    assert.equal(ddp.length, 6);
    assert.deepEqual(lines.filter((l) => l.loss !== undefined).map((l) => l.step), [13, 14, 15, 16, 17, 18]);
    const after = loadCheckpoint(lastPath(o.out));
    assert.equal(after.optimizer!.step, 18);
    assert.notDeepEqual(after.optimizer!.m, start.optimizer!.m);

    const rest = await run({ resume: true, maxSteps: 4 });
    assert.equal(rest.resumedAt, 18);
    assert.deepEqual(rest.steps.map((s) => s.step), [19, 20, 21, 22]);
    // no jump: each part starts near where the previous one ended (a fresh model starts near ln 257 = 5.5)
    const tail = (a: number[]) => a.slice(-3).reduce((x, y) => x + y, 0) / 3;
    const head = (a: number[]) => a.slice(0, 3).reduce((x, y) => x + y, 0) / 3;
    const bgpt1 = first.steps.map((s) => s.loss), bgpt2 = rest.steps.map((s) => s.loss);
    assert.ok(bgpt1[0] - tail(bgpt1) > 0.5, `bgpt learned: ${bgpt1}`);
    assert.ok(Math.abs(head(ddp) - tail(bgpt1)) < 0.25 * tail(bgpt1), `DDP continues bgpt: ${tail(bgpt1)} → ${ddp}`);
    assert.ok(Math.abs(head(bgpt2) - tail(ddp)) < 0.25 * tail(ddp), `bgpt continues DDP: ${ddp} → ${bgpt2}`);
  });
});
