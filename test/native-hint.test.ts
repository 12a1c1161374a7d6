/** The missing-native warning names a command that works where bgpt is: a clone, or a project's dependency. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers.js';

/** bgpt's built files at `at`, without the addon, its dependencies linked; the warning `bgpt info` prints there. */
function warningAt(at: string): string {
  mkdirSync(at, { recursive: true });
  cpSync(join(ROOT, 'dist'), join(at, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(at, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(at, 'node_modules'));
  const r = spawnSync(process.execPath, [join(at, 'dist', 'cli', 'main.js'), 'info'], { encoding: 'utf8', env: { ...process.env, BGPT_BACKEND: '' } });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

describe('the missing-native warning', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bgpt-hint-'));
  it('in a clone says npm run build:native there', () => {
    const at = join(tmp, 'clone');
    assert.match(warningAt(at), new RegExp(`using the slower TypeScript backend .*libdnnl-dev, then npm run build:native \\(in ${at}\\)`));
  });
  // the printed command, run where it was printed, gives the native backend (a full build of the addon: minutes)
  it('in a clone, the command it prints builds the native backend', { skip: existsSync('/usr/include/dnnl.h') ? false : 'libdnnl-dev not installed' }, () => {
    const at = join(tmp, 'clone-build');
    const w = warningAt(at);
    const cmd = /then (npm run build:native) \(in (.*)\)/.exec(w);
    assert.ok(cmd && cmd[2] === at, w);
    for (const f of ['binding.gyp', 'scripts', 'src']) cpSync(join(ROOT, f), join(at, f), { recursive: true });
    const b = spawnSync('sh', ['-c', cmd[1]], { cwd: at, encoding: 'utf8', timeout: 600_000 });
    assert.equal(b.status, 0, b.stderr.slice(-2000));
    const info = spawnSync(process.execPath, [join(at, 'dist', 'cli', 'main.js'), 'info', '--json'], { encoding: 'utf8' });
    assert.equal(info.status, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).backend, 'native', info.stdout);
    assert.equal(info.stderr, '', 'no warning once built');
  });

  it('in a project that depends on bgpt says npm rebuild bgpt', () => {
    const w = warningAt(join(tmp, 'project', 'node_modules', 'bgpt'));
    assert.match(w, /libdnnl-dev, then npm rebuild bgpt\n/);
    assert.doesNotMatch(w, /build:native/);
  });
});
