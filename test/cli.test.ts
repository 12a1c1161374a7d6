/** The command line: eval end to end against the vectors, and one-line errors for bad input. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { ROOT, VECTORS, vectors } from './helpers.js';

const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const WEIGHTS = join(VECTORS, 'weights.safetensors');

function bgpt(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, BGPT_BACKEND: 'ts' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function oneLineError(r: { code: number | null; err: string }, mustName: string): void {
  assert.notEqual(r.code, 0);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got: ${r.err}`);
  assert.ok(lines[0].includes(mustName), `"${lines[0]}" does not name ${mustName}`);
}

describe('bgpt eval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgpt-cli-'));

  it('scores files with the loss of the reference', () => {
    const files = join(dir, 'files');
    mkdirSync(join(files, 'sub'), { recursive: true });
    writeFileSync(join(files, 'a.txt'), 'Hi bGPT!');
    writeFileSync(join(files, 'sub', 'b.bin'), 'abcde');
    writeFileSync(join(files, '.hidden'), 'skipped');
    const r = bgpt('eval', '--model', WEIGHTS, '--json', files);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.files.length, 2);
    const want = { 'a.txt': 'single_txt', 'b.bin': 'partial_patch' } as Record<string, string>;
    let sum = 0, n = 0;
    for (const f of j.files) {
      const c = vectors.cases.find((x) => x.name === want[f.path.split('/').pop()])!;
      assert.ok(Math.abs(f.loss - c.loss) / c.loss <= 1e-5, `${f.path}: ${f.loss} vs ${c.loss}`);
      assert.ok(Math.abs(f.bpb - f.loss / Math.LN2) < 1e-12);
      sum += c.loss * c.num_target_patches;
      n += c.num_target_patches;
    }
    assert.equal(j.files.find((f: { path: string }) => f.path.endsWith('a.txt')).bytes, 8);
    assert.ok(Math.abs(j.loss - sum / n) / j.loss <= 1e-5, 'total is the token-weighted mean');
    const text = bgpt('eval', '--model', WEIGHTS, join(files, 'a.txt'));
    assert.equal(text.code, 0);
    assert.match(text.out, /total \(1 files\)/);
  });

  it('a missing file', () => {
    oneLineError(bgpt('eval', '--model', WEIGHTS, join(dir, 'nope.txt')), 'nope.txt');
  });

  it('a folder with no files', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, '.only-hidden'), 'x');
    oneLineError(bgpt('eval', '--model', WEIGHTS, empty), empty);
  });

  it('weights that are not safetensors', () => {
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, 'this is not a model');
    writeFileSync(join(dir, 'x.txt'), 'x');
    oneLineError(bgpt('eval', '--model', bad, join(dir, 'x.txt')), bad);
    oneLineError(bgpt('eval', '--model', join(dir, 'missing.safetensors'), join(dir, 'x.txt')), 'missing.safetensors');
  });

  it('weights whose shapes do not fit', () => {
    const t = readSafetensors(WEIGHTS).tensors;
    const list = [...t.entries()].map(([name, v]) => ({ name, shape: v.shape, data: v.data }));
    const fc = list.find((e) => e.name.endsWith('byte_level_decoder.base.transformer.h.0.mlp.c_fc.weight'))!;
    fc.shape = [fc.shape[1], fc.shape[0]];
    const bad = join(dir, 'shapes.safetensors');
    writeSafetensors(bad, list);
    oneLineError(bgpt('eval', '--model', bad, join(dir, 'x.txt')), bad);
    const copy = join(dir, 'copy.safetensors');
    copyFileSync(WEIGHTS, copy);
    assert.equal(bgpt('eval', '--model', copy, join(dir, 'x.txt')).code, 0);
  });
});

describe('bgpt info', () => {
  it('prints JSON with the backend', () => {
    const r = bgpt('info', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.backend, 'ts');
    assert.equal(typeof j.version, 'string');
    assert.equal(j.bf16_training, false, 'the TypeScript backend has no bf16 training');
    assert.match(bgpt('info').out, /^bf16 +inference only/m);
  });
});
