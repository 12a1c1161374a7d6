/** `bgpt web` and its file server (the page itself is tested in browser.test.ts); the checked-in kernels.wasm. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { serveDir } from '../src/tasks/site.js';
import { ROOT } from './helpers.js';

const CLI = join(ROOT, 'dist', 'cli', 'main.js');

function bgpt(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** GET with the path sent exactly as given (no normalisation by a URL parser). */
function get(port: number, path: string): Promise<{ status: number; body: string; type?: string; headers: Record<string, unknown> }> {
  return new Promise((ok, fail) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => ok({ status: res.statusCode!, body, type: res.headers['content-type'], headers: res.headers }));
    }).on('error', fail).end();
  });
}

describe('bgpt web', () => {
  it('writes the static site', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bgpt-site-')), 'site');
    const r = bgpt('web', '--out', out);
    assert.equal(r.code, 0, r.err);
    // and the shipped models: the base model, which the page opens by default, and the detector it offers
    assert.deepEqual(readdirSync(out).sort(), ['base.safetensors', 'bgpt-gpu-worker.js', 'bgpt-kernels.wasm', 'bgpt-page.js', 'bgpt-worker.js', 'detect.safetensors', 'index.html']);
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /<pre id="result"/);
    for (const f of ['bgpt-page.js', 'bgpt-worker.js', 'bgpt-gpu-worker.js']) assert.doesNotMatch(readFileSync(join(out, f), 'utf8'), /["']node:|require\(/, `${f} needs no Node built-in`);
  });

  it('needs --out or --serve', () => {
    const r = bgpt('web');
    assert.notEqual(r.code, 0);
    assert.match(r.err.trim(), /^bgpt: web needs --out DIR, --serve or both$/);
  });

  it('serves the folder on 127.0.0.1 and nothing outside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgpt-serve-'));
    writeFileSync(join(dir, 'index.html'), '<p>hi</p>');
    const { server, url } = await serveDir(dir, 0);
    try {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const port = Number(new URL(url).port);
      const home = await get(port, '/');
      assert.equal(home.status, 200);
      assert.equal(home.body, '<p>hi</p>');
      assert.match(home.type!, /text\/html/);
      // cross-origin isolated, so the page's workers may share memory (the WebGPU backend)
      assert.equal(home.headers['cross-origin-opener-policy'], 'same-origin');
      assert.equal(home.headers['cross-origin-embedder-policy'], 'require-corp');
      assert.equal((await get(port, '/../../etc/passwd')).status, 404);
      assert.equal((await get(port, '/%2e%2e/%2e%2e/etc/passwd')).status, 404);
      assert.equal((await get(port, '/nope.js')).status, 404);
    } finally {
      server.close();
    }
  });
});

describe('kernels.wasm', () => {
  const clang = spawnSync('clang', ['--version']).status === 0;
  it('is what scripts/build-wasm.mjs builds from matmul.cc', { skip: clang ? false : 'clang not installed (apt-get install -y clang lld)' }, () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bgpt-wasm-')), 'kernels.wasm');
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-wasm.mjs'), out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out).equals(readFileSync(join(ROOT, 'src', 'backend', 'wasm', 'kernels.wasm'))), 'the checked-in kernels.wasm is stale: npm run build:wasm');
  });
});
