/** `bgpt data corpus`: real files from installed Debian packages, split by package, with a manifest. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CAPS, heldOutPackages, parseManifest, readManifest } from '../src/tasks/data/corpus.js';
import { CORPUS_PACKAGES, GROUPS, ruleOf, type Group } from '../src/tasks/data/corpus-rules.js';
import { bgpt } from './cli-run.js';

// small packages with files in several groups: documentation, man pages, programs, icons, sounds
const SUBSET = ['sed', 'gzip', 'grep', 'sound-theme-freedesktop', 'hicolor-icon-theme', 'tango-icon-theme'];
const installed = (p: string) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout?.includes('install ok installed');
const missing = SUBSET.filter((p) => !installed(p));
const skip = missing.length ? `not installed: ${missing.join(', ')} (apt-get install $(bgpt data corpus --packages))` : false;

describe('bgpt data corpus', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bgpt-corpus-'));
  const out = join(tmp, 'corpus');
  const build = (dir = out, seed = '0') => bgpt('data', 'corpus', '--out', dir, '--only', SUBSET.join(','), '--seed', seed);

  it('builds a manifest of deduplicated files, capped per package, with no held-out package in training', () => {
    const r = build();
    assert.equal(r.code, 0, r.err);
    const rows = readManifest(out);
    assert.ok(rows.length > 100, `${rows.length} files`);
    assert.equal(new Set(rows.map((x) => x.sha256)).size, rows.length, 'no two files with the same bytes');
    for (const x of rows.slice(0, 200)) {
      const b = readFileSync(join(out, x.path));
      assert.equal(b.length, x.bytes);
      assert.ok(b.length <= CAPS.fileBytes);
      assert.ok(x.path.startsWith(`${x.split}/${x.group}/${x.package}/`), x.path);
    }
    const trainPkgs = new Set(rows.filter((x) => x.split === 'train').map((x) => x.package));
    const heldPkgs = new Set(rows.filter((x) => x.split === 'heldout').map((x) => x.package));
    assert.ok(heldPkgs.size > 0 && trainPkgs.size > 0);
    for (const p of heldPkgs) assert.ok(!trainPkgs.has(p), `${p} on both sides`);
    for (const p of SUBSET) {
      for (const g of GROUPS) {
        const n = rows.filter((x) => x.package === p && x.group === g).length;
        assert.ok(n <= (g === 'compressed' ? CAPS.packageCompressedFiles : CAPS.packageGroupFiles), `${p}/${g}: ${n}`);
      }
    }
    const groups = new Set(rows.map((x) => x.group));
    for (const g of ['documentation', 'executable', 'image', 'audio'] as Group[]) assert.ok(groups.has(g), `no ${g} files`);
    assert.match(r.out, /manifest sha256 [0-9a-f]{64}/);
    const summary = JSON.parse(readFileSync(join(out, 'corpus.json'), 'utf8'));
    assert.equal(summary.files, rows.length);
    assert.match(bgpt('data', 'corpus', '--verify', out).out, /every file matches/);
  });

  it('the same seed gives the same manifest, and a rebuild says so; another seed splits differently', () => {
    const before = readFileSync(join(out, 'manifest.tsv'), 'utf8');
    const again = build();
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /the same corpus as before \(identical manifest\)/);
    assert.equal(readFileSync(join(out, 'manifest.tsv'), 'utf8'), before);
    const other = build(join(tmp, 'other'), '7');
    assert.equal(other.code, 0, other.err);
    assert.notEqual(readFileSync(join(tmp, 'other', 'manifest.tsv'), 'utf8'), before);
  });

  it('says when a corpus was built from other package versions than this machine has', () => {
    const path = join(out, 'manifest.tsv'), text = readFileSync(path, 'utf8');
    const [row] = readManifest(out);
    writeFileSync(path, text.split('\n').map((l) => l.replace(`\t${row.package}\t${row.version}\t`, `\t${row.package}\t0.0-other\t`)).join('\n'));
    try {
      const v = bgpt('data', 'corpus', '--verify', out);
      assert.equal(v.code, 0, v.err);
      assert.match(v.out, new RegExp(`other package versions .*${row.package} 0\\.0-other → ${row.version.replace(/[.+]/g, '\\$&')}`));
    } finally {
      writeFileSync(path, text);
    }
  });

  it('refuses bad input with one line and leaves folders as they were', () => {
    const full = join(tmp, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine');
    const r = build(full);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /not empty and holds no corpus/);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.equal(readFileSync(join(full, 'keep.txt'), 'utf8'), 'mine');
    const unknown = bgpt('data', 'corpus', '--out', join(tmp, 'x'), '--only', 'sed,no-such-package');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.err, /not in the corpus's package list: no-such-package/);
    assert.ok(!existsSync(join(tmp, 'x')));
    // a changed file, and a folder that is no corpus
    const f = readManifest(out)[0];
    writeFileSync(join(out, f.path), 'changed');
    const v = bgpt('data', 'corpus', '--verify', out);
    assert.notEqual(v.code, 0);
    assert.match(v.err, new RegExp(`1 files differ from the manifest \\(first: ${f.path.replace(/[.+]/g, '\\$&')}: changed`));
    assert.match(bgpt('data', 'corpus', '--verify', full).err, /no manifest\.tsv \(not a corpus made by bgpt data corpus\)/);
    rmSync(tmp, { recursive: true, force: true });
  });
});

describe('corpus rules and split', () => {
  it('sorts files into groups by place and content', () => {
    const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    assert.equal(ruleOf('/usr/bin/sed', elf)?.group, 'executable');
    assert.equal(ruleOf('/usr/share/man/man1/sed.1.gz', new Uint8Array(4))?.as, 'gunzip');
    assert.equal(ruleOf('/usr/share/doc/sed/copyright', new Uint8Array(4))?.group, 'documentation');
    assert.equal(ruleOf('/usr/bin/zcat', new TextEncoder().encode('#!/bin/sh\n'))?.group, 'code');
    assert.equal(ruleOf('/usr/share/applications/htop.desktop', new Uint8Array(4))?.group, 'configuration');
    assert.equal(ruleOf('/usr/share/sounds/freedesktop/stereo/bell.oga', new Uint8Array(4))?.as, 'wav');
    assert.equal(ruleOf('/usr/share/locale/de/LC_MESSAGES/sed.mo', new Uint8Array(4))?.group, 'binary');
  });

  it('holds out whole packages, each group keeping packages in training', () => {
    const filesOf = new Map<string, Map<Group, number>>();
    for (const [i, p] of CORPUS_PACKAGES.entries()) filesOf.set(p, new Map<Group, number>([['documentation', 3], [i % 2 ? 'code' : 'markup', 10 + i]]));
    filesOf.set('only-audio', new Map<Group, number>([['audio', 50]]));
    const held = heldOutPackages(0, filesOf);
    assert.deepEqual([...heldOutPackages(0, filesOf)], [...held], 'seeded: the same split again');
    assert.ok(!held.has('only-audio'), 'a group with one package stays in training');
    for (const g of ['documentation', 'code', 'markup'] as Group[]) {
      const having = [...filesOf].filter(([, m]) => m.has(g));
      const share = having.filter(([p]) => held.has(p)).reduce((a, [, m]) => a + m.get(g)!, 0) / having.reduce((a, [, m]) => a + m.get(g)!, 0);
      assert.ok(share >= CAPS.heldOutGroupShare && share <= 0.5, `${g}: ${share}`);
    }
  });

  it('reads back only manifests it wrote', () => {
    assert.throws(() => parseManifest('path\tbytes\nx\t1\n', 'm.tsv'), /m\.tsv: not a bgpt corpus manifest/);
  });
});
