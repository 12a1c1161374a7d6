/**
 * The package as a user gets it: `bgpt` and `bgpt/web` through the package's own exports (the built dist/),
 * only their documented names, and what `npm pack` would ship.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers.js';

// the documented surface (README "Library"); anything else exported is a leak of an internal
const NODE_SURFACE = [
  'AdamW', 'BgptClassifier', 'StreamBatch', 'BgptModel', 'DEFAULT_CONFIG', 'DEFAULT_MODEL', 'EOP', 'Rng', 'VERSION', 'VOCAB',
  'checkpointOf', 'classify', 'compress', 'continueFile', 'convert', 'decompress', 'decompressAll', 'detect', 'detectHeadBytes', 'detectInput', 'evaluateFiles', 'exportPth', 'exportSafetensors',
  'extensionOf', 'filePatches', 'generate', 'generateFile', 'getKernels', 'listFiles', 'loadCheckpoint', 'loadModel', 'loadModelFile',
  'nativeKernels', 'readSafetensors', 'saveCheckpoint', 'saveWeights', 'score', 'scoringWindows', 'simulate', 'topLabels', 'train',
  'tsKernels', 'useExactKernels', 'writeSafetensors',
];
const WEB_SURFACE = ['classify', 'compress', 'convert', 'decompress', 'decompressAll', 'detect', 'detectHeadBytes', 'detectInput', 'generate', 'loadModel', 'score', 'scoringWindows', 'topLabels', 'tsKernels', 'useExactKernels'];

describe('the package', () => {
  it('exports the documented names from bgpt and bgpt/web, no more', async () => {
    const node = await import('bgpt'), web = await import('bgpt/web');
    assert.deepEqual(Object.keys(node).sort(), [...NODE_SURFACE].sort());
    assert.deepEqual(Object.keys(web).sort(), [...WEB_SURFACE].sort());
  });

  it('scores, compresses and restores bytes with the shipped model through both entry points alike', async () => {
    const node = await import('bgpt'), web = await import('bgpt/web');
    const bytes = readFileSync(`${ROOT}/LICENSE`).subarray(0, 600);
    const a = await node.loadModel(node.DEFAULT_MODEL);
    const b = await web.loadModel(readFileSync(node.DEFAULT_MODEL), { name: 'base.safetensors' });
    assert.equal(a.kind, 'generative');
    assert.equal(b.kind, 'generative');
    if (a.kind !== 'generative' || b.kind !== 'generative') return;
    const sa = node.score(a.model, [{ bytes, ext: '' }]), sb = web.score(b.model, [{ bytes, ext: '' }]);
    assert.ok(Math.abs(sa.bpb - sb.bpb) < 1e-4, `${sa.bpb} vs ${sb.bpb}`);
    const packed = web.compress(b.model, bytes);
    assert.ok(packed.length < bytes.length);
    // a container made on the TypeScript kernels opens on the native ones: the same bits
    assert.deepEqual(node.decompress(a.model, packed).bytes, new Uint8Array(bytes));
    await assert.rejects(web.loadModel(new Uint8Array([1, 2, 3]), { name: 'junk.bin' }), /^Error: junk\.bin: not a model file/);
  });

  it('installs from the packed tarball: a Node script and a bundled page use only the public names', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgpt-consumer-'));
    try {
      // the built tree as it is (no prepare run), unpacked as npm would install it; its dependencies are this
      // checkout's (linked: no registry is reached)
      const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--json'], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(pack.status, 0, pack.stderr);
      const tgz = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0].filename);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
      mkdirSync(join(dir, 'node_modules', 'bgpt'), { recursive: true });
      const tar = spawnSync('tar', ['-xzf', tgz, '-C', join(dir, 'node_modules', 'bgpt'), '--strip-components=1']);
      assert.equal(tar.status, 0, String(tar.stderr));
      const deps = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
      for (const d of deps) {
        mkdirSync(dirname(join(dir, 'node_modules', d)), { recursive: true });
        symlinkSync(join(ROOT, 'node_modules', d), join(dir, 'node_modules', d));
      }
      writeFileSync(join(dir, 'use.mjs'), `
        import { DEFAULT_MODEL, compress, decompress, loadModel, score } from 'bgpt';
        const m = await loadModel(DEFAULT_MODEL);
        const bytes = new TextEncoder().encode('A user\\'s notes: the quick brown fox jumps over the lazy dog.\\n'.repeat(8));
        const packed = compress(m.model, bytes, { ext: 'txt' });
        const back = decompress(m.model, packed).bytes;
        console.log(JSON.stringify({ kind: m.kind, bpb: score(m.model, [{ bytes, ext: 'txt' }]).bpb, packed: packed.length, same: back.length === bytes.length && back.every((b, i) => b === bytes[i]) }));
      `);
      const use = spawnSync(process.execPath, ['use.mjs'], { cwd: dir, encoding: 'utf8' });
      assert.equal(use.status, 0, use.stderr);
      const r = JSON.parse(use.stdout);
      assert.equal(r.kind, 'generative');
      assert.ok(r.same && r.packed < 512 && r.bpb > 0, use.stdout);
      // a page of the user's that imports bgpt/web bundles for the browser with nothing stubbed
      writeFileSync(join(dir, 'page.mjs'), `import { loadModel, score } from 'bgpt/web';\nconst m = await loadModel('base.safetensors');\nconsole.log(score(m.model, [{ bytes: new Uint8Array(10) }]).bpb);\n`);
      const { build } = await import('esbuild');
      const b = await build({ absWorkingDir: dir, entryPoints: ['page.mjs'], bundle: true, write: false, platform: 'browser', format: 'esm', logLevel: 'silent' });
      assert.ok(b.outputFiles[0].text.length > 10_000 && !/["']node:/.test(b.outputFiles[0].text));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm pack ships the base model, the built code and no test data', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [p] = JSON.parse(r.stdout) as { size: number; unpackedSize: number; files: { path: string }[] }[];
    const files = new Set(p.files.map((f) => f.path));
    for (const f of ['models/base.safetensors', 'dist/index.js', 'dist/browser.js', 'dist/cli/main.js', 'README.md']) assert.ok(files.has(f), f);
    assert.ok(![...files].some((f) => f.startsWith('test/')), 'no tests in the package');
    assert.ok(p.size < 40e6, `${p.size} bytes packed`);
  });
});
