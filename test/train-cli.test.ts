/**
 * `bgpt train` as a process: Ctrl-C, SIGTERM and SIGKILL mid-run, the NaN stop, `--init` and `--config`.
 * Tiny models on a tiny generated corpus; each run takes a second or two.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCheckpoint } from '../src/index.js';
import { TINY, bgpt, logCorpus, logRecords, start, tmp, until, oneLineError } from './cli-run.js';

/** A folder with a corpus of 40 files; `run(name, …flags)` gives the paths and arguments of a training run in it
 * that would take minutes if nothing stopped it. */
function setup() {
  const d = tmp('train-cli'), train = logCorpus(join(d, 'train'), 40);
  const run = (name: string, ...over: string[]) => {
    const out = join(d, `${name}.safetensors`);
    const args = ['train', '--train', train, '--out', out, ...TINY, '--batch-size', '2', '--epochs', '200', '--lr', '2e-3', ...over];
    return { out, last: join(d, `${name}.last.safetensors`), log: `${out}.log.jsonl`, args };
  };
  return { d, train, run };
}

const savedStep = (path: string) => Number(loadCheckpoint(path).training!.extra!.step);
const losses = (log: string) => logRecords(log, 'step').map((r) => [r.step, r.loss]);

describe('bgpt train: stopping', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal === 'SIGINT' ? 'Ctrl-C (SIGINT)' : 'SIGTERM'} mid-run saves the state of the last step and exits with 130`, async () => {
      const s = setup().run('m');
      const { child, exited } = start(...s.args);
      await until(() => logRecords(s.log, 'step').length >= 3, 'three steps');
      child.kill(signal);
      const r = await exited;
      assert.equal(r.code, 130, r.err);
      assert.match(r.err, /stopping after this step and saving/);
      const steps = logRecords(s.log, 'step').length;
      assert.match(r.out, new RegExp(`interrupted after ${steps} steps`));
      assert.equal(savedStep(s.last), steps, 'the saved state is that of the last logged step');
    });
  }

  it('after SIGKILL, --resume continues with the same losses and weights as an uninterrupted run', async () => {
    // dropout and patch sampling draw from the trainer's generator: its state must come back too
    const { run } = setup(), flags = ['--eval-every', '4', '--dropout', '0.1', '--patch-sampling', '3'];
    const whole = run('whole', ...flags, '--max-steps', '14'), s = run('killed', ...flags);
    const w = bgpt(...whole.args);
    assert.equal(w.code, 0, w.err);
    const { child, exited } = start(...s.args);
    await until(() => existsSync(s.last) && logRecords(s.log, 'step').length >= 6, 'a saved state and two more steps');
    child.kill('SIGKILL');
    assert.equal((await exited).code, null, 'killed, not exited');
    const at = savedStep(s.last);
    assert.ok(at >= 4 && at % 4 === 0, `saved at step ${at}`);
    const r = bgpt(...s.args, '--resume', '--max-steps', String(14 - at));
    assert.equal(r.code, 0, r.err);
    // the log holds the killed run's steps, then the resumed run's (after its info record) from the saved step on
    const log = logRecords(s.log), resumed = log.slice(log.map((x) => x.type).lastIndexOf('info')).filter((x) => x.type === 'step');
    assert.deepEqual(resumed.map((x) => [x.step, x.loss]), losses(whole.log).slice(at), 'the resumed steps have the uninterrupted run’s losses');
    assert.deepEqual(loadCheckpoint(s.last).params, loadCheckpoint(whole.last).params);
  });

  it('a NaN loss stops the run: exit 1, one clear line, no checkpoint overwritten', () => {
    const s = setup().run('m');
    const first = bgpt(...s.args, '--max-steps', '3', '--eval-every', '3');
    assert.equal(first.code, 0, first.err);
    const before = [readFileSync(s.out), readFileSync(s.last)];
    // a learning rate of 1e30 throws the weights to ±1e30 in one AdamW step: the next forward overflows
    for (const evalEvery of ['0', '1']) {
      const r = bgpt(...s.args, '--resume', '--lr', '1e30', '--warmup', '0', '--eval-every', evalEvery);
      oneLineError(r, /loss became (NaN|-?Infinity) at step [45]/, 'without saving', `${s.last}, is intact`, 'lower learning rate');
      assert.deepEqual([readFileSync(s.out), readFileSync(s.last)], before, `--eval-every ${evalEvery}: both checkpoints unchanged`);
    }
  });
});

describe('bgpt train: starting points and settings', () => {
  it('--init starts from a checkpoint: its size, its weights (a classifier takes the patch-level decoder)', () => {
    const { d, train, run } = setup(), s = run('m', '--eval-every', '3', '--max-steps', '3');
    assert.equal(bgpt(...s.args).code, 0);
    const base = loadCheckpoint(s.out);
    // no size flags: the checkpoint's size; learning rate 0: one step leaves the weights where they started
    const gen = join(d, 'gen.safetensors');
    const r = bgpt('train', '--train', train, '--out', gen, '--init', s.out, '--lr', '0', '--max-steps', '1', '--batch-size', '2');
    assert.equal(r.code, 0, r.err);
    const g = loadCheckpoint(join(d, 'gen.last.safetensors'));
    assert.deepEqual(g.config, base.config);
    assert.deepEqual(g.params, base.params);
    // a classifier on two labels: the patch-level decoder comes from the checkpoint, its head is new
    const cls = join(d, 'cls.safetensors'), labelled = join(d, 'labelled');
    mkdirSync(labelled);
    for (let i = 0; i < 8; i++) writeFileSync(join(labelled, `${i % 2 ? 'Odd' : 'Even'}_${i}.log`), readFileSync(join(d, 'train', `f${i}.log`)));
    const c = bgpt('train', '--task', 'cls', '--train', labelled, '--eval', labelled, '--out', cls, '--init', s.out, '--lr', '0', '--max-steps', '1', '--batch-size', '2');
    assert.equal(c.code, 0, c.err);
    const ck = loadCheckpoint(join(d, 'cls.last.safetensors'));
    assert.deepEqual(ck.task, { kind: 'classification', labels: ['Even.log', 'Odd.log'] });
    let patchTensors = 0;
    for (const t of ck.layout.specs) {
      const from = base.layout.byName.get(t.name);
      if (!t.name.startsWith('patch_level_decoder.')) {
        assert.equal(from, undefined, `${t.name} is not in a generative checkpoint`);
        continue;
      }
      patchTensors++;
      assert.deepEqual(ck.params.subarray(t.offset, t.offset + t.size), base.params.subarray(from!.offset, from!.offset + from!.size), t.name);
    }
    assert.ok(patchTensors > 10, `${patchTensors} patch-level tensors compared`);
    // size flags that do not fit the checkpoint
    oneLineError(bgpt('train', '--train', train, '--out', join(d, 'x.safetensors'), '--init', s.out, ...TINY.map((v, i) => (i === 1 ? '48' : v))), s.out, /needs \[/);
  });

  it('--config FILE.json: the same run as the same flags; flags win; bad files are refused in one line', () => {
    const d = tmp('train-config');
    logCorpus(join(d, 'train'), 24);
    const settings = { 'hidden': 32, 'patch-layers': 1, 'byte-layers': 1, 'patch-size': 4, 'patch-length': 16, 'batch-size': 2, 'epochs': 50, 'lr': 0.002, 'seed': 4, 'max-steps': 3, 'dropout': 0.1 };
    const cfg = join(d, 'settings.json');
    writeFileSync(cfg, JSON.stringify(settings));
    const base = ['train', '--train', join(d, 'train')];
    const a = bgpt(...base, '--out', join(d, 'a.safetensors'), '--config', cfg);
    assert.equal(a.code, 0, a.err);
    const flags = Object.entries(settings).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const b = bgpt(...base, '--out', join(d, 'b.safetensors'), ...flags);
    assert.equal(b.code, 0, b.err);
    const ca = loadCheckpoint(join(d, 'a.last.safetensors')), cb = loadCheckpoint(join(d, 'b.last.safetensors'));
    assert.equal(ca.config.hidden, 32);
    assert.equal(savedStep(join(d, 'a.last.safetensors')), 3);
    assert.deepEqual(losses(join(d, 'a.safetensors.log.jsonl')), losses(join(d, 'b.safetensors.log.jsonl')));
    assert.deepEqual(ca.params, cb.params);
    // a flag overrides the file
    const c = bgpt(...base, '--out', join(d, 'c.safetensors'), '--config', cfg, '--max-steps', '2', '--seed', '5');
    assert.equal(c.code, 0, c.err);
    assert.equal(savedStep(join(d, 'c.last.safetensors')), 2);
    assert.equal(loadCheckpoint(join(d, 'c.last.safetensors')).training!.extra!.seed, 5);
    // unknown names, values out of range, not JSON, missing
    writeFileSync(cfg, JSON.stringify({ ...settings, 'learning-rate': 1 }));
    oneLineError(bgpt(...base, '--out', join(d, 'x.safetensors'), '--config', cfg), cfg, 'unknown setting "learning-rate"');
    writeFileSync(cfg, JSON.stringify({ ...settings, 'batch-size': 0 }));
    oneLineError(bgpt(...base, '--out', join(d, 'x.safetensors'), '--config', cfg), '--batch-size must be a whole number ≥ 1');
    writeFileSync(cfg, '{"hidden": 32,');
    oneLineError(bgpt(...base, '--out', join(d, 'x.safetensors'), '--config', cfg), cfg, 'not valid JSON');
    oneLineError(bgpt(...base, '--out', join(d, 'x.safetensors'), '--config', join(d, 'none.json')), 'none.json: no such file');
  });
});
