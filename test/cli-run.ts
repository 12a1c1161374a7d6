/** Running the built command line from tests: one process, its exit code and output, its training log. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sensorLog } from '../src/data/synthetic.js';
import { Rng } from '../src/index.js';

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');

/** The model size flags of a tiny model (67 k parameters): a training step takes milliseconds. */
export const TINY = ['--hidden', '32', '--patch-layers', '1', '--byte-layers', '1', '--patch-size', '4', '--patch-length', '16'];

export interface Ran {
  code: number | null;
  out: string;
  err: string;
}

export function bgpt(...args: string[]): Ran {
  // a run that should take seconds but hangs (a broken flag: the full-size default model) fails instead
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts `bgpt ARGS` in the background; `exited` resolves with its exit code and output. */
export function start(...args: string[]): { child: ChildProcess; exited: Promise<Ran> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b));
  child.stderr!.on('data', (b: Buffer) => (err += b));
  const exited = new Promise<Ran>((resolve) => child.on('close', (code) => resolve({ code, out, err })));
  return { child, exited };
}

/** Waits (polling) until `ready()` holds; fails after `seconds`. */
export async function until(ready: () => boolean, what: string, seconds = 60): Promise<void> {
  for (let t = Date.now(); !ready(); await new Promise((r) => setTimeout(r, 25))) {
    if (Date.now() - t > seconds * 1000) throw new Error(`timed out waiting for ${what}`);
  }
}

export interface LogRecord {
  type: string;
  step: number;
  loss: number;
  accuracy?: number;
  elapsed_s?: number;
  best?: boolean;
}

/** The records of a training log (JSON lines; a line being written is left out). */
export function logRecords(path: string, type?: string): LogRecord[] {
  if (!existsSync(path)) return [];
  const out: LogRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line) as LogRecord;
      if (!type || r.type === type) out.push(r);
    } catch {
      // an empty or partly written last line
    }
  }
  return out;
}

export const tmp = (name: string) => mkdtempSync(join(tmpdir(), `bgpt-${name}-`));

/** `n` small generated log files (1–2 lines each) in `dir`, named f0.log … */
export function logCorpus(dir: string, n: number, seed = 1): string {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.log`), sensorLog(rng, 1 + rng.int(2)));
  return dir;
}

/** Asserts a failed command printed one line of error that says each of `parts`. */
export function oneLineError(r: { code: number | null; err: string }, ...parts: (string | RegExp)[]): void {
  assert.notEqual(r.code, 0, 'exits with an error');
  assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  for (const p of parts) assert.ok(typeof p === 'string' ? r.err.includes(p) : p.test(r.err), `"${r.err.trim()}" should say ${p}`);
}
