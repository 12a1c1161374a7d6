/** `bgpt export` and `bgpt inspect`, run in-process through commander as main.ts runs them. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerExport } from '../src/cli/export.js';
import { registerInspect, type InspectResult } from '../src/cli/inspect.js';
import { checkpointOf, loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { readModelWeights } from '../src/io/weights.js';
import { tsKernels } from '../src/backend/index.js';
import { AdamW } from '../src/optim/adamw.js';
import { loadModelFile } from '../src/io/weights.js';
import { VECTORS } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'bgpt-io-cli-'));

/** Runs `bgpt <args>` with export and inspect registered; returns stdout, or the one-line error main.ts would print. */
async function bgpt(...args: string[]): Promise<{ out: string; err?: string }> {
  const program = new Command().name('bgpt').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerExport(program);
  registerInspect(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await program.parseAsync(['node', 'bgpt', ...args]);
    return { out: lines.join('\n') };
  } catch (e) {
    return { out: lines.join('\n'), err: (e as Error).message };
  } finally {
    console.log = log;
  }
}

async function inspect(path: string): Promise<InspectResult> {
  const r = await bgpt('inspect', '--json', path);
  assert.equal(r.err, undefined, r.err);
  return JSON.parse(r.out);
}

describe('bgpt inspect', () => {
  it('a torch generative checkpoint', async () => {
    const r = await inspect(join(VECTORS, 'weights.pth'));
    assert.equal(r.format, 'pth');
    assert.deepEqual(r.config, { patchSize: 4, patchLength: 8, hidden: 64, patchLayers: 2, byteLayers: 1, heads: 1 });
    assert.equal(r.task, 'generative');
    assert.equal(r.parameters, readModelWeights(join(VECTORS, 'weights.safetensors')).layout.count());
    assert.deepEqual(r.dtypes, { F32: 46 }); // the model's tensors (buffers and the tied lm_head not counted)
    assert.deepEqual(r.training, { epoch: 1, bestEpoch: 1, bestEvalLoss: 0.5 });
    assert.deepEqual(r.keys, ['model', 'epoch', 'best_epoch', 'min_eval_loss']);
    const text = await bgpt('inspect', join(VECTORS, 'weights.pth'));
    assert.match(text.out, /^parameters\s+233,/m);
  });

  it('a torch classifier with its labels', async () => {
    const r = await inspect(join(VECTORS, 'cls.pth'));
    assert.equal(r.task, 'classification');
    assert.deepEqual(r.labels, ['a.txt', 'b.txt', 'c.txt']);
    assert.deepEqual(r.training, { epoch: 1, bestEpoch: 1, bestEvalAcc: 0.5 });
  });

  it('our checkpoint with training and optimizer state', async () => {
    const m = loadModelFile(tsKernels, join(VECTORS, 'weights.safetensors'));
    const opt = new AdamW(tsKernels, m.model.layout.size);
    opt.step = 7;
    const p = join(tmp, 'ck.safetensors');
    saveCheckpoint(p, checkpointOf(m.model, { optimizer: opt, task: { kind: 'conversion', mode: 'abc&mid' }, training: { epoch: 3, bestEpoch: 2, bestEvalLoss: Infinity, rng: { main: [1, 2, 3, 4, NaN] } } }));
    const r = await inspect(p);
    assert.equal(r.format, 'checkpoint');
    assert.equal(r.task, 'conversion');
    assert.equal(r.conversion, 'abc&mid');
    assert.deepEqual(r.training, { epoch: 3, bestEpoch: 2, bestEvalLoss: null, rng: ['main'] });
    assert.equal((r.optimizer as { step: number }).step, 7);
    assert.match(r.writtenBy!, /^bgpt /);
  });

  it('a broken file: one line naming it', async () => {
    const p = join(tmp, 'junk.pth');
    writeFileSync(p, 'PK\x03\x04 not really a zip');
    const r = await bgpt('inspect', p);
    assert.ok(r.err && !r.err.includes('\n') && r.err.startsWith(`${p}: `), r.err);
  });
});

describe('bgpt export', () => {
  it('.pth → ours → .pth → plain safetensors keep the weights, task and labels', async () => {
    const ck = join(tmp, 'cls.ckpt.safetensors'), pth = join(tmp, 'cls-again.pth'), st = join(tmp, 'cls.safetensors');
    let r = await bgpt('export', '--format', 'checkpoint', join(VECTORS, 'cls.pth'), ck);
    assert.equal(r.err, undefined, r.err);
    assert.match(r.out, /^wrote .* \(checkpoint, f32, classification, /);
    r = await bgpt('export', ck, pth, '--json');
    assert.equal(r.err, undefined, r.err);
    assert.equal(JSON.parse(r.out).format, 'pth');
    r = await bgpt('export', pth, st, '--dtype', 'bf16');
    assert.equal(r.err, undefined, r.err);
    const orig = loadCheckpoint(join(VECTORS, 'cls.pth'));
    for (const p of [ck, pth]) {
      const back = loadCheckpoint(p);
      assert.deepEqual(back.task, orig.task, p);
      assert.deepEqual([...back.params], [...orig.params], p);
    }
    const plain = await inspect(st);
    assert.deepEqual(plain.labels, ['a.txt', 'b.txt', 'c.txt'], 'labels noted in a plain export');
    assert.deepEqual(plain.dtypes, { BF16: 32 });
    assert.equal((await inspect(ck)).training?.epoch, 1);
  });

  it('refuses what it cannot do, in one line', async () => {
    const out = join(tmp, 'x.pth');
    for (const [args, why] of [
      [[join(VECTORS, 'weights.pth'), join(tmp, 'x.onnx')], /cannot tell the format/],
      [[join(VECTORS, 'weights.pth'), out, '--dtype', 'f8'], /--dtype must be/],
      [[join(VECTORS, 'weights.pth'), out, '--optimizer'], /holds no optimizer state/],
      [[join(VECTORS, 'weights.pth'), join(tmp, 'x.safetensors'), '--optimizer'], /--optimizer applies to .pth/],
      [[join(tmp, 'nope.pth'), out], /nope\.pth: ENOENT/],
    ] as [string[], RegExp][]) {
      const r = await bgpt('export', ...args);
      assert.ok(r.err, `refused: ${args.join(' ')}`);
      assert.ok(!r.err.includes('\n'));
      assert.match(r.err, why);
    }
  });
});
