/** `bgpt cpu …` in process: generate, translate, run, evaluate, and one-line errors that name the file. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerCpu } from '../src/cli/cpu.js';
import { assemble } from '../src/sim/asm.js';
import { initialRecord } from '../src/sim/cpu.js';
import { DEFAULT_CONFIG } from '../src/sim/isa.js';
import { runStates } from '../src/sim/states.js';

/** Runs `bgpt cpu ...args` and returns what it printed, or the error message it threw. */
async function cpu(...args: string[]): Promise<{ out: string; error?: string }> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerCpu(program);
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((s: string | Uint8Array) => {
    out += typeof s === 'string' ? s : Buffer.from(s).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'bgpt', 'cpu', ...args]);
    return { out };
  } catch (e) {
    return { out, error: (e as Error).message };
  } finally {
    process.stdout.write = write;
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'bgpt-cpu-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const asm = join(tmp, 'p.asm');
writeFileSync(asm, '; doubles A into ACC\nPUSH A\nADD A\nHLT\n');

describe('bgpt cpu', () => {
  it('generate, then evaluate: 100 %', async () => {
    const out = join(tmp, 'ds');
    const g = await cpu('generate', '--out', out, '--train', '20', '--test', '5', '--max-program', '30', '--seed', '3', '--json');
    assert.equal(g.error, undefined);
    const j = JSON.parse(g.out);
    assert.equal(j.train, 20);
    assert.equal(j.test, 5);
    assert.equal(readdirSync(join(out, 'train')).length, 20);
    const e = await cpu('evaluate', '--json', join(out, 'test'));
    assert.equal(e.error, undefined);
    assert.equal(JSON.parse(e.out).accuracy, 1);
    const text = await cpu('evaluate', out);
    assert.match(text.out, /^25 files, (\d+) of \1 bytes right: accuracy 100\.0000 %/);
    assert.match(text.out, /by program length/);
  });

  it('run prints the states; --out saves the states file', async () => {
    const r = await cpu('run', asm, '--set', 'A=100', 'acc=7');
    assert.equal(r.error, undefined);
    assert.match(r.out, /program \(3 instructions\):\n {2}0 {2}PUSH A\n {2}1 {2}ADD A\n {2}2 {2}HLT\n/);
    assert.match(r.out, /\n +3 +3 +200 +HLT +100 +0/);
    const file = join(tmp, 'p.bin');
    const s = await cpu('run', asm, '--set', 'A=100', 'ACC=7', '--out', file);
    assert.equal(s.error, undefined);
    const want = runStates(assemble('PUSH A\nADD A', DEFAULT_CONFIG), initialRecord(DEFAULT_CONFIG, 7, [100, 0, 0, 0, 0, 0, 0, 0, 0, 0]), DEFAULT_CONFIG);
    assert.deepEqual(new Uint8Array(readFileSync(file)), want);
    const t = await cpu('translate', '--json', file);
    const v = JSON.parse(t.out);
    assert.deepEqual(v.states.map((x: { acc: number }) => x.acc), [7, 7, 100, 200]);
    const rnd = await cpu('run', asm, '--random-init', '--seed', '1', '--json');
    assert.equal(JSON.parse(rnd.out).states.length, 4);
  });

  it('errors are one line naming the file or option', async () => {
    const one = (r: { error?: string }, re: RegExp) => {
      assert.ok(r.error, 'an error');
      assert.ok(!r.error.includes('\n'), r.error);
      assert.match(r.error, re);
    };
    one(await cpu('translate', join(tmp, 'missing.bin')), /missing\.bin: no such file/);
    writeFileSync(join(tmp, 'short.bin'), 'abc');
    one(await cpu('translate', join(tmp, 'short.bin')), /short\.bin: 3 bytes, too short/);
    writeFileSync(join(tmp, 'bad.asm'), 'INC\nJMP A\n');
    one(await cpu('run', join(tmp, 'bad.asm')), /bad\.asm:2: unknown instruction 'JMP'/);
    writeFileSync(join(tmp, 'loop.asm'), 'INC\nINC\n');
    one(await cpu('run', join(tmp, 'loop.asm'), '--memory', '8'), /loop\.asm: no HLT .* never halts/);
    one(await cpu('run', asm, '--set', 'K=1'), /--set K=1: expected REG=VALUE/);
    one(await cpu('run', asm, '--registers', '30'), /registers must be an integer in 1\.\.26/);
    one(await cpu('evaluate', '--memory', 'lots', tmp), /--memory must be a whole number/);
    one(await cpu('generate', '--out', join(tmp, 'ds'), '--train', '1', '--test', '1'), /train: not empty/);
  });
});
