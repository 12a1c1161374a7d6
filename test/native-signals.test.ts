/**
 * Signals during oneDNN's JIT matrix products: its sgemm points the stack register into the heap while it runs,
 * so a handled signal used to overwrite heap memory (glibc then aborted: "corrupted size vs. prev_size"). The
 * profiler's SIGPROF every 50 µs for two seconds of products reproduced it every time before the fix.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from '../src/backend/native/index.js';
import { ROOT } from './helpers.js';

const loaded = loadNative();
const skip = 'error' in loaded ? `native backend unavailable: ${loaded.error}` : false;

for (const threads of ['1', '2']) {
  test(`native matrix products survive profiler signals (${threads} thread${threads === '1' ? '' : 's'})`, { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgpt-prof-'));
    try {
      const r = spawnSync(
        process.execPath,
        ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, '--import', 'tsx', join(ROOT, 'test', 'signals-child.ts'), '2'],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BGPT_THREADS: threads }, timeout: 60_000 },
      );
      assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr.slice(-400)}`);
      assert.equal(r.status, 0, `child exit ${r.status}: ${r.stderr.slice(-400)}`);
      assert.match(r.stdout, /^ok \d+/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
