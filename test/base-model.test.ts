/** The shipped models: the base model found with no --model, its provenance shown, exact round trips across backends; the detector. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadNative } from '../src/backend/native/index.js';
import { DEFAULT_DETECTOR, DEFAULT_MODEL } from '../src/io/default-model.js';
import { encodeBmp } from '../src/data/media/bmp.js';
import { CLI } from './cli-run.js';

const native = loadNative();
const nativeSkip = 'error' in native ? `native backend not built: ${native.error}` : false;
const ROOT = join(DEFAULT_MODEL, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'bgpt-base-'));
const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'buffer', timeout: 300_000 });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
};

// real files a user has at hand, small enough to decode in seconds: a licence, TypeScript source, JSON
const FILES = ['LICENSE', 'src/model/config.ts', 'tsconfig.json'].map((f) => join(ROOT, f));

/** A shipped model as `bgpt inspect --json` shows it: at most `maxBytes`, 16-bit, its corpus in the provenance. */
function inspectShipped(path: string, maxBytes: number, task: string): { labels?: string[]; provenance: Record<string, unknown> } {
  assert.ok(statSync(path).size <= maxBytes);
  const r = run(['inspect', '--json', path]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.task, task);
  assert.deepEqual(Object.keys(j.dtypes).filter((d) => d !== 'BF16' && d !== 'F16'), []);
  assert.match(j.provenance.corpus_manifest_sha256, /^[0-9a-f]{64}$/);
  return j;
}

describe('the shipped base model', () => {
  it('is a 16-bit safetensors file of at most 25 MB whose provenance bgpt inspect shows', () => {
    const j = inspectShipped(DEFAULT_MODEL, 25e6, 'generative');
    assert.match(String(j.provenance.recipe), /scripts\/base-model\.sh/);
    assert.ok((j.provenance.steps as number) > 0 && j.provenance.commit);
  });

  it('scores a file with no --model, and beats gzip -9 on real text', () => {
    const r = run(['eval', '--json', FILES[0]]);
    assert.equal(r.code, 0, r.err);
    const bpb = JSON.parse(r.out).bpb;
    const gz = (8 * gzipSync(readFileSync(FILES[0]), { level: 9 }).length) / readFileSync(FILES[0]).length;
    assert.ok(bpb > 0.5 && bpb < gz, `${bpb} bits per byte; gzip -9 ${gz}`);
  });

  it('round-trips real files exactly from one backend or thread count to another, with no --model', { skip: nativeSkip }, () => {
    const pairs: [Record<string, string>, Record<string, string>][] = [
      [{ BGPT_BACKEND: 'native', BGPT_THREADS: '2' }, { BGPT_BACKEND: 'ts' }],
      [{ BGPT_BACKEND: 'ts' }, { BGPT_BACKEND: 'native', BGPT_THREADS: '1' }],
    ];
    for (const [i, [a, b]] of pairs.entries()) {
      const out = join(tmp, `z${i}`), back = join(tmp, `back${i}`);
      const c = run(['compress', '--out', out, '--json', ...FILES], a);
      assert.equal(c.code, 0, c.err);
      const j = JSON.parse(c.out);
      for (const f of j.files) {
        const gz = gzipSync(readFileSync(f.input), { level: 9 }).length;
        assert.ok(f.compressed < gz, `${f.input}: ${f.compressed} bytes, gzip -9 ${gz}`);
      }
      const d = run(['decompress', '--out', back, ...j.files.map((f: { output: string }) => f.output)], b);
      assert.equal(d.code, 0, d.err);
      for (const f of FILES) assert.ok(readFileSync(join(back, f.slice(f.lastIndexOf('/') + 1))).equals(readFileSync(f)), f);
    }
  });

  it('says in one line what is wrong with a missing file or a file that is no container', () => {
    const gone = run(['eval', join(tmp, 'nothing-here.txt')]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.err, /nothing-here\.txt: no such file/);
    assert.equal(gone.err.trim().split('\n').length, 1);
    writeFileSync(join(tmp, 'x.bgpz'), 'not a container');
    const bad = run(['decompress', '--out', join(tmp, 'o'), join(tmp, 'x.bgpz')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /x\.bgpz: not a \.bgpz file/);
  });
});

describe('the shipped detector', () => {
  it('is a 16-bit safetensors file of at most 10 MB whose provenance bgpt inspect shows', () => {
    const j = inspectShipped(DEFAULT_DETECTOR, 10e6, 'classification');
    assert.ok(j.labels!.length >= 40, `${j.labels!.length} labels`);
    assert.match(String(j.provenance.recipe), /scripts\/detect-model\.sh/);
  });

  it('names the type of files a user has at hand with no --model: a program, gzip, BMP, a man page, a sound', () => {
    const man = '/usr/share/man/man1/ls.1.gz';
    const files: [string, string][] = [[process.execPath, 'elf'], [join(tmp, 'notes'), 'gzip'], [join(tmp, 'picture'), 'bmp']];
    writeFileSync(join(tmp, 'notes'), gzipSync(readFileSync(join(ROOT, 'README.md'))));
    writeFileSync(join(tmp, 'picture'), encodeBmp({ width: 32, height: 32, rgb: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 7) & 0xff) }));
    if (existsSync(man)) {
      writeFileSync(join(tmp, 'page'), gunzipSync(readFileSync(man)));
      files.push([join(tmp, 'page'), 'troff']);
    }
    // a sound in the paper's format, as `bgpt data audio` makes it (a pure tone is not: docs/detect.md)
    const bell = '/usr/share/sounds/freedesktop/stereo/bell.oga';
    if (existsSync(bell) && run(['data', 'audio', '--out', join(tmp, 'sounds'), bell]).code === 0) files.push([join(tmp, 'sounds', 'bell.wav'), 'wav']);
    const r = run(['detect', '--json', ...files.map(([f]) => f)]);
    assert.equal(r.code, 0, r.err);
    const got = r.out.trim().split('\n').map((l) => JSON.parse(l).label);
    assert.deepEqual(got, files.map(([, l]) => l));
  });
});
