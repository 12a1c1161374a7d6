/**
 * scripts/compare-reference.mjs: rounds alternating bgpt's bench with the reference's. The reference is a stand-in
 * here (a shell script answering as python would, a fixed bytes/s per thread count), so the test runs without
 * torch and checks what the script makes of the records: one line per round, the ratio against the better
 * thread count, the summary range, and one clear line on bad arguments.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from './helpers.js';

const script = join(ROOT, 'scripts', 'compare-reference.mjs');
const dir = mkdtempSync(join(tmpdir(), 'bgpt-cmp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// `python -c 'import torch'` succeeds; `python bgpt_torch.py bench ... --threads N` prints a progress line and
// a record: 300 bytes/s on one thread, 100 on two (so the better one is the first).
const stub = join(dir, 'python');
writeFileSync(stub, `#!/bin/sh
[ "$1" = "-c" ] && exit 0
for a; do last=$a; done
if [ "$last" = "1" ]; then bps=300; else bps=100; fi
echo "progress line"
echo "{\\"what\\": \\"gen\\", \\"threads\\": $last, \\"bytes_per_s\\": $bps}"
`);
chmodSync(stub, 0o755);

function run(args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
}

describe('scripts/compare-reference.mjs', () => {
  it('prints a line per round with the ratio against the reference at its better thread count, then the range', () => {
    const r = run(['--config', 'a', '--what', 'gen', '--rounds', '2', '--python', stub]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    for (const [i, l] of lines.slice(0, 2).entries()) {
      assert.equal(l.round, i + 1);
      assert.equal(l.what, 'gen');
      assert.equal(l.torch_1thread_bytes_per_s, 300);
      assert.equal(l.torch_2threads_bytes_per_s, 100);
      assert.ok(l.bgpt_bytes_per_s > 0 && l.bgpt_1thread_bytes_per_s > 0);
      assert.ok(Math.abs(l.ratio - l.bgpt_bytes_per_s / 300) < 0.01, `ratio ${l.ratio} of ${l.bgpt_bytes_per_s}`);
    }
    const [a, b] = [lines[0].ratio, lines[1].ratio];
    assert.deepEqual(lines[2], { config: 'a', what: 'gen', rounds: 2, ratio_min: Math.min(a, b), ratio_max: Math.max(a, b) });
  });

  it('refuses bad arguments and a Python without torch with one line and a non-zero exit', () => {
    for (const [args, msg] of [
      [['--rounds', '0', '--python', stub], /--rounds must be a positive integer, got 0/],
      [['--what', 'fwd', '--python', stub], /--what takes train and\/or gen, got fwd/],
      [['--python', join(dir, 'missing')], /cannot import torch/],
    ] as const) {
      const r = run([...args]);
      assert.equal(r.status, 1);
      assert.match(r.stderr.trim(), msg);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.equal(r.stdout, '');
    }
  });
});
