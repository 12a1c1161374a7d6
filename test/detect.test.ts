/** Content-type detection: the detect set, the task-layer call, `bgpt detect`, POST /v1/detect, `bgpt bench detect`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detect, detectHeadBytes } from '../src/api/detect.js';
import { classify } from '../src/api/classify.js';
import { tsKernels } from '../src/backend/index.js';
import { readEnds } from '../src/data/files.js';
import { endsOf } from '../src/data/patches.js';
import { checkpointOf, saveCheckpoint } from '../src/io/checkpoint.js';
import { parseTask } from '../src/io/meta.js';
import { loadModelFile } from '../src/io/weights.js';
import { BgptClassifier } from '../src/model/classifier.js';
import { formatManifest, type ManifestRow } from '../src/tasks/data/corpus.js';
import { buildDetectSet } from '../src/tasks/data/detect-set.js';
import { sha256 } from '../src/util/sha256.js';
import { CLI, TINY, bgpt } from './cli-run.js';
import { LABELS, serve, tinyClassifier } from './serve-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'bgpt-detect-'));
const cls = tinyClassifier();
const model = join(tmp, 'detector.safetensors');
saveCheckpoint(model, checkpointOf(cls.model, { task: cls.task }));
const text = new TextEncoder().encode('plain words of a plain file\n'.repeat(10));
const binary = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff);

describe('the detect set', () => {
  it('labels corpus files by their manifest type, keeps the corpus split, strips names, leaves rare types out', () => {
    const corpus = join(tmp, 'corpus');
    const rows: ManifestRow[] = [];
    const add = (split: 'train' | 'heldout', type: string, pkg: string, body: string) => {
      const bytes = new TextEncoder().encode(body), hash = Buffer.from(sha256(bytes)).toString('hex');
      const path = `${split}/code/${pkg}/usr/share/${type}-${rows.length}.${type}`;
      mkdirSync(join(corpus, split, 'code', pkg, 'usr', 'share'), { recursive: true });
      writeFileSync(join(corpus, path), bytes);
      rows.push({ split, group: 'code', type, package: pkg, version: '1', bytes: bytes.length, sha256: hash, path, source: `/usr/share/x.${type}` });
    };
    for (let i = 0; i < 5; i++) add('train', 'python', 'p1', `print(${i})\n`);
    for (let i = 0; i < 3; i++) add('heldout', 'python', 'p2', `import os  # ${i}\n`);
    for (let i = 0; i < 4; i++) add('train', 'shell', 'p1', `echo ${i}\n`);
    add('train', 'lua', 'p1', 'print(1)\n');
    writeFileSync(join(corpus, 'manifest.tsv'), formatManifest(rows));
    const out = join(tmp, 'set');
    const s = buildDetectSet({ corpus, out, minTrain: 4, maxTrain: 4 });
    assert.deepEqual(s.labels, ['python', 'shell']);
    assert.deepEqual(s.counts, { python: { train: 4, heldout: 3 }, shell: { train: 4, heldout: 0 } });
    assert.deepEqual(s.leftOut, { lua: { train: 1, heldout: 0 } });
    const names = readdirSync(join(out, 'train', 'python'));
    assert.equal(names.length, 4);
    assert.ok(names.every((n) => /^[0-9a-f]{16}$/.test(n)), 'no extension: a detector reads bytes only');
    assert.equal(readdirSync(join(out, 'heldout', 'python')).length, 3);
    assert.equal(readFileSync(join(out, 'labels.txt'), 'utf8'), 'python\nshell\n');
    // rebuilt over itself; a folder that is not a detect set is refused and left alone
    assert.deepEqual(buildDetectSet({ corpus, out, minTrain: 4, maxTrain: 4 }).labels, s.labels);
    const other = join(tmp, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'keep.txt'), 'mine');
    assert.throws(() => buildDetectSet({ corpus, out: other }), /not empty and not a detect set/);
    assert.equal(readFileSync(join(other, 'keep.txt'), 'utf8'), 'mine');
  });
});

describe('detect', () => {
  it('classifies the head with no extension; a long file costs its head; below the threshold the answer is generic', () => {
    const big = new Uint8Array(3 << 20).map((_, i) => i & 0x7f);
    const [a, b] = detect(cls.model, LABELS, [big, big.subarray(0, detectHeadBytes(cls.config))]);
    assert.deepEqual(a, b);
    const c = classify(cls.model, LABELS, [{ bytes: text, ext: '' }])[0];
    const d = detect(cls.model, LABELS, [text])[0];
    assert.equal(d.p, c.probs[c.index]);
    assert.equal(d.top[0].label, c.label);
    assert.equal(d.top.length, 3);
    const [t, u] = detect(cls.model, LABELS, [text, binary], { threshold: 1 });
    assert.equal(t.label, 'txt');
    assert.equal(u.label, 'unknown');
    assert.equal(detect(cls.model, LABELS, [text], { threshold: 0 })[0].label, c.label);
  });
});

describe('a detector that reads both ends', () => {
  const { patchSize: S, patchLength: L } = cls.config, room = (L - 1) * S;
  const ends = new BgptClassifier(tsKernels, cls.config, LABELS.length, { params: cls.model.params.data, reads: 'ends' });
  const endsModel = join(tmp, 'ends-detector.safetensors');
  saveCheckpoint(endsModel, checkpointOf(ends, { task: { ...cls.task, reads: 'ends' } }));
  const file = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);

  it('keeps a file that fits whole, else its first ⌊(L−1)/2⌋ patches and its last bytes, read without the middle', () => {
    const head = Math.floor((L - 1) / 2) * S;
    for (const n of [0, 1, room - 1, room, room + 1, room + S, 2 * room - 1, 2 * room, 5 * room + 3, 1 << 20]) {
      const b = file(n), want = n <= room ? b : Buffer.concat([b.subarray(0, head), b.subarray(n - (room - head))]);
      assert.deepEqual(Buffer.from(endsOf(b, S, L)), Buffer.from(want), `${n} bytes`);
      const path = join(tmp, `ends-${n}`);
      writeFileSync(path, b);
      assert.deepEqual(Buffer.from(readEnds(path, S, L)), Buffer.from(want), `read from a file of ${n} bytes`);
    }
  });

  it('classifies what it reads: the same as a head reader given endsOf; saved and loaded with reads "ends"', () => {
    const long = file(3 * room);
    const [a] = classify(ends, LABELS, [{ bytes: long, ext: '' }]), [b] = classify(cls.model, LABELS, [{ bytes: endsOf(long, S, L), ext: '' }]);
    assert.deepEqual(a.probs, b.probs);
    assert.notDeepEqual(classify(cls.model, LABELS, [{ bytes: long, ext: '' }])[0].probs, a.probs, 'the tail changes the answer');
    const m = loadModelFile(tsKernels, endsModel);
    assert.equal(m.kind === 'classification' && m.model.reads, 'ends');
    assert.deepEqual(detect(m.model as BgptClassifier, LABELS, [long]), detect(cls.model, LABELS, [endsOf(long, S, L)]));
    assert.throws(() => parseTask('{"kind":"classification","labels":["a"],"reads":"tail"}'), /reads/);
    // a 16-bit export keeps it
    const plain = join(tmp, 'ends-f16.safetensors');
    assert.equal(bgpt('export', endsModel, plain, '--dtype', 'f16').code, 0);
    const e = loadModelFile(tsKernels, plain, { precision: 'auto' });
    assert.equal(e.kind === 'classification' && e.model.reads, 'ends');
    assert.match(bgpt('inspect', plain).out, /reads +a longer file's first and last bytes/);
  });

  it('bgpt detect reads both ends of a file and of standard input', () => {
    const long = file(4 * room + 7), path = join(tmp, 'long.bin');
    writeFileSync(path, long);
    const want = detect(cls.model, LABELS, [endsOf(long, S, L)])[0].p;
    for (const args of [[path], ['-']]) {
      const r = spawnSync(process.execPath, [CLI, 'detect', '-m', endsModel, '--json', '--threshold', '0', ...args], { input: long, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(Math.abs(JSON.parse(r.stdout).p - want) < 1e-6, `${args}: ${r.stdout}`);
    }
  });
});

describe('bgpt detect', () => {
  const dir = join(tmp, 'files');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), text);
  writeFileSync(join(dir, 'sub', 'b.bin'), binary);

  it('prints path: label (p) for files and folders (recursive), JSON lines with --json, stdin with -', () => {
    const r = bgpt('detect', '-m', model, dir);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], new RegExp(`^${join(dir, 'a.txt')}: (${LABELS.join('|')}|txt|unknown) \\(\\d\\.\\d\\d\\)$`));
    const j = bgpt('detect', '-m', model, '--json', '--top', '2', join(dir, 'sub'));
    assert.equal(j.code, 0, j.err);
    const o = JSON.parse(j.out);
    assert.deepEqual(Object.keys(o), ['path', 'label', 'p', 'top']);
    assert.equal(o.top.length, 2);
    assert.deepEqual(o.top[0].label === o.label || o.p < 0.5, true);
    const want = detect(cls.model, LABELS, [binary])[0];
    assert.ok(Math.abs(o.p - want.p) < 1e-6, `${o.p} vs ${want.p}`);
    const s = spawnSync(process.execPath, [CLI, 'detect', '-m', model, '--json', '-'], { input: binary, encoding: 'utf8' });
    assert.equal(s.status, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).path, '-');
    assert.ok(Math.abs(JSON.parse(s.stdout).p - want.p) < 1e-6);
  });

  it('lists its labels; bad input gets one line and a non-zero exit, the readable files still answered', () => {
    const l = bgpt('detect', '-m', model, '--list');
    assert.equal(l.code, 0, l.err);
    assert.deepEqual(l.out.trim().split('\n'), [...LABELS, 'unknown', 'empty']);
    const oneLine = (r: { code: number | null; err: string }, re: RegExp) => {
      assert.equal(r.code, 1);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, re);
    };
    oneLine(bgpt('detect', '-m', model, join(tmp, 'nope')), /nope: no such file or folder/);
    oneLine(bgpt('detect', '-m', model, '/dev/null'), /\/dev\/null: not a file or folder/);
    const fifo = join(tmp, 'fifo');
    spawnSync('mkfifo', [fifo]);
    if (existsSync(fifo)) oneLine(bgpt('detect', '-m', model, fifo), /fifo: not a file or folder/);
    const none = join(tmp, 'no-files');
    mkdirSync(join(none, 'sub'), { recursive: true });
    oneLine(bgpt('detect', '-m', model, none), /no-files: no files found/);
    const empty = join(tmp, 'empty');
    writeFileSync(empty, '');
    const e = bgpt('detect', '-m', model, empty);
    assert.equal(e.code, 0, e.err);
    assert.equal(e.out, `${empty}: empty (1.00)\n`);
    // a file that stats as a regular file but cannot be read, as root too
    if (existsSync('/proc/self/mem')) {
      const r = bgpt('detect', '-m', model, '/proc/self/mem', dir);
      assert.equal(r.code, 1);
      assert.equal(r.out.trim().split('\n').length, 2, 'the other files are answered');
      assert.equal(r.err, 'bgpt: /proc/self/mem: cannot read it (EIO)\n');
    }
    const gen = bgpt('detect', '-m', join(import.meta.dirname, 'fixtures', 'vectors', 'weights.safetensors'), dir);
    assert.equal(gen.code, 1);
    assert.match(gen.err, /a generative model; detect needs a classification model/);
    assert.match(bgpt('detect', '-m', model, '--threshold', '2', dir).err, /--threshold/);
  });

  it('POST /v1/detect answers as bgpt detect does', async () => {
    const s = await serve(cls);
    try {
      const r = await fetch(`${s.url}/v1/detect?threshold=0`, { method: 'POST', body: binary });
      assert.equal(r.status, 200);
      const j = await r.json();
      const want = detect(cls.model, LABELS, [binary], { threshold: 0 })[0];
      assert.equal(j.label, want.label);
      assert.ok(Math.abs(j.p - want.p) < 1e-6);
      assert.deepEqual(j.top.map((t: { label: string }) => t.label), want.top.map((t) => t.label));
      assert.equal((await fetch(`${s.url}/v1/detect?threshold=x`, { method: 'POST', body: binary })).status, 400);
    } finally {
      await s.close();
    }
  });

  it('bgpt bench detect scores the detector and libmagic on labelled files and draws the confusion', () => {
    const set = join(tmp, 'labelled');
    for (const l of LABELS) mkdirSync(join(set, l), { recursive: true });
    writeFileSync(join(set, 'txt', 'x'), text);
    writeFileSync(join(set, 'bmp', 'y'), binary);
    const page = join(tmp, 'confusion.html');
    const r = bgpt('bench', 'detect', '-m', model, '--html', page, set);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.files, 2);
    assert.ok(j.bgpt.accuracy >= 0 && j.bgpt.accuracy <= 1 && j.bgpt.files_per_s > 0);
    if (!('skipped' in j.libmagic)) {
      assert.equal(j.libmagic.perLabel.txt.correct, 1, 'libmagic calls plain text text/plain → txt');
      assert.match(j.libmagic.version, /^file-/);
    }
    assert.ok(existsSync(page) && readFileSync(page, 'utf8').includes('<table>'));
  });
});

// the packages of the corpus test (.ci/run installs them): gzip files, message catalogues and text from two held-out packages
const SUBSET = ['sed', 'gzip', 'grep', 'sound-theme-freedesktop', 'hicolor-icon-theme', 'tango-icon-theme'];
const installed = (p: string) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout?.includes('install ok installed');
const missing = SUBSET.filter((p) => !installed(p));

describe('a tiny detector on real files', { skip: missing.length ? `not installed: ${missing.join(', ')}` : false }, () => {
  it('trained for seconds, tells gzip, mo and txt apart on files of held-out packages far above chance', () => {
    const corpus = join(tmp, 'real-corpus'), set = join(tmp, 'real-set'), sub = join(tmp, 'real-sub');
    assert.equal(bgpt('data', 'corpus', '--out', corpus, '--only', SUBSET.join(','), '--seed', '0').code, 0);
    assert.equal(bgpt('data', 'detect-set', '--corpus', corpus, '--out', set, '--min-train', '10').code, 0);
    const labels = ['gzip', 'mo', 'txt'];
    for (const split of ['train', 'heldout']) for (const l of labels) cpSync(join(set, split, l), join(sub, split, l), { recursive: true });
    const held = labels.reduce((n, l) => n + readdirSync(join(sub, 'heldout', l)).length, 0);
    const out = join(tmp, 'real-detector.safetensors');
    const t = bgpt('train', '--task', 'cls', '--labels-from-folders', '--train', join(sub, 'train'), '--eval-split', '0.1', '--out', out,
      ...TINY, '--crop', 'ends', '--batch-size', '8', '--epochs', '40', '--max-time', '20', '--lr', '3e-3', '--warmup', '0.05', '--dropout', '0', '--seed', '0');
    assert.equal(t.code, 0, t.err);
    const trained = loadModelFile(tsKernels, out).task;
    assert.equal(trained.kind === 'classification' && trained.reads, 'ends', 'trained on both ends, it reads both ends');
    const r = bgpt('bench', 'detect', '-m', out, join(sub, 'heldout'));
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.files, held);
    // chance is 1/3 and the most common label 40 %–55 % of these files: the margin asked is 0.8
    assert.ok(j.bgpt.accuracy >= 0.8, `held-out accuracy ${j.bgpt.accuracy} on ${held} files`);
  });
});
