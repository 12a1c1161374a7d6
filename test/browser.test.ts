/**
 * The browser app in a real Chromium (headless, through puppeteer-core; no browser download): the page loads
 * the reference weights over http, and its answers in <pre id="result"> are checked against the PyTorch
 * vectors on every in-page backend. Skipped by name when /usr/bin/chromium (or $BGPT_CHROMIUM) is missing.
 * --enable-unsafe-webgpu gives headless Chromium a WebGPU adapter without a GPU (SwiftShader, on the CPU), so
 * the WebGPU backend is tested too; its tests are skipped by name, with the page's reason, where none is had.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { getKernels } from '../src/backend/index.js';
import { tsKernels } from '../src/backend/ts/kernels.js';
import { PyDict, StorageRef, TensorRef, contiguousStrides } from '../src/io/pth/pyvalue.js';
import { writePth } from '../src/io/pth/write-pth.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { loadModelFile } from '../src/io/weights.js';
import type { BgptModel } from '../src/model/bgpt.js';
import { generateFile } from '../src/api/generate.js';
import { serveDir, writeSite } from '../src/tasks/site.js';
import { Rng } from '../src/util/rng.js';
import { ROOT, VECTORS, VECTORS_MH, loadVectors, vectors } from './helpers.js';
import { serve } from './serve-helpers.js';

const OPTIMIZER_FLOATS = 2_000_000;

/** The vector weights as a torch checkpoint {model, optimizer} whose optimizer state is one big moment tensor. */
function writeCheckpointWithOptimizer(path: string): void {
  const { tensors } = readSafetensors(join(VECTORS, 'weights.safetensors'));
  const storages = new Map<string, () => Uint8Array>();
  const ref = (data: Float32Array, shape: number[]) => {
    const key = String(storages.size);
    storages.set(key, () => new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return new TensorRef(new StorageRef(key, 'F32', 'cpu', data.length), 0, shape, contiguousStrides(shape));
  };
  const model = new PyDict(true, [...tensors].map(([name, t]) => [name, ref(t.data, t.shape)]));
  const state = new PyDict(false, [[0, new PyDict(false, [['exp_avg', ref(new Float32Array(OPTIMIZER_FLOATS).fill(1), [OPTIMIZER_FLOATS])]])]]);
  writePth(path, new PyDict(false, [['model', model], ['optimizer', new PyDict(false, [['state', state]])], ['epoch', 3]]), storages);
}
/** `dir` served as a plain static host would: without the cross-origin isolation headers of serveDir. */
async function servePlain(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const file = join(dir, new URL(req.url!, 'http://localhost').pathname);
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : file.endsWith('.html') ? 'text/html' : 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` };
}

const CHROMIUM = process.env.BGPT_CHROMIUM ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) ? `chromium not installed (${CHROMIUM}; apt-get install -y chromium)`
  : !existsSync(join(ROOT, 'dist', 'site', 'index.html')) ? 'the browser app is not built (npm run build)' : false;

type Browser = import('puppeteer-core').Browser;
type Page = import('puppeteer-core').Page;

describe('the browser app in Chromium', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgpt-web-'));
  let server: Server, url: string, browser: Browser, page: Page;
  let offered: { backends: string[]; webgpu: string };
  const errors: string[] = [];

  before(async () => {
    writeSite(dir);
    mkdirSync(join(dir, 'files'));
    for (const f of ['weights.safetensors', 'weights.pth', 'cls.pth']) copyFileSync(join(VECTORS, f), join(dir, 'files', f));
    mkdirSync(join(dir, 'mh'));
    for (const f of ['weights.pth', 'files/apache.txt', 'files/NOTICE']) copyFileSync(join(VECTORS_MH, f), join(dir, 'mh', basename(f)));
    writeCheckpointWithOptimizer(join(dir, 'files', 'with-optimizer.pth'));
    writeFileSync(join(dir, 'files', 'a.txt'), 'Hi bGPT!'); // the bytes of case single_txt
    ({ server, url } = await serveDir(dir, 0));
    const puppeteer = (await import('puppeteer-core')).default;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${join(dir, 'profile')}`],
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    offered = (await query('backends')) as typeof offered;
  });

  after(async () => {
    await browser?.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the page with a query and returns the JSON it writes into <pre id="result">. */
  async function query(q: string, site = url): Promise<Record<string, any>> {
    await page.goto(`${site}index.html?${q}`);
    await page.waitForFunction(() => document.getElementById('result')?.textContent, { timeout: 30_000 });
    return JSON.parse((await page.$eval('#result', (e) => e.textContent))!);
  }

  const BACKENDS = ['ts', 'wasm', 'webgpu'];
  /** False when the browser offers `backend` (ts and wasm always: a missing one is a failure), else t.skip's reason. */
  function unavailable(t: TestContext, backend: string): boolean {
    if (backend !== 'webgpu' || offered.backends.includes(backend)) return false;
    t.skip(`no WebGPU backend in this browser: ${offered.webgpu}`);
    return true;
  }

  const single = vectors.cases.find((c) => c.name === 'single_txt')!;
  for (const backend of BACKENDS) {
    for (const weights of ['weights.safetensors', 'weights.pth']) {
      it(`scores a file with the reference loss: ${backend} backend, ${weights}`, async (t) => {
        if (unavailable(t, backend)) return;
        const r = await query(`model=files/${weights}&score=files/a.txt&backend=${backend}`);
        assert.equal(r.backend, backend, JSON.stringify(r));
        assert.ok(Math.abs(r.loss - single.loss) / single.loss <= 1e-4, `loss ${r.loss} vs ${single.loss}`);
        assert.ok(Math.abs(r.bpb - r.loss / Math.LN2) < 1e-9);
        assert.equal(r.bytes, 8);
      });
    }
  }

  // the multi-head configuration, on real files: one cut to the context's head, one without an extension
  const mh = loadVectors(VECTORS_MH);
  for (const backend of BACKENDS) {
    for (const file of ['apache.txt', 'NOTICE']) {
      it(`scores ${file} with the reference loss (2 heads): ${backend} backend`, async (t) => {
        if (unavailable(t, backend)) return;
        const want = mh.cases.find((c) => c.name === `file:${file}`)!.loss;
        const r = await query(`model=mh/weights.pth&score=mh/${file}&backend=${backend}`);
        assert.ok(Math.abs(r.loss - want) / want <= 1e-4, `loss ${r.loss} vs ${want} (${JSON.stringify(r)})`);
      });
    }
  }

  it('shows a score as a table and a surprisal map (screenshot), the JSON kept in #result; page, CLI and server agree', async () => {
    const r = await query('model=mh/weights.pth&score=mh/apache.txt&backend=wasm');
    const want = mh.cases.find((c) => c.name === 'file:apache.txt')!.loss;
    assert.ok(Math.abs(r.loss - want) / want <= 1e-4);
    // the same number as `bgpt eval` of the same file
    const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'eval', '--json', '-m', join(VECTORS_MH, 'weights.pth'), join(VECTORS_MH, 'files', 'apache.txt')], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const fromCli = JSON.parse(cli.stdout).bpb;
    assert.ok(Math.abs(r.bpb - fromCli) / fromCli <= 1e-4, `page ${r.bpb}, CLI ${fromCli}`);
    // and as bgpt serve's POST /v1/score
    const served = await serve(loadModelFile(getKernels(), join(VECTORS_MH, 'weights.pth')));
    try {
      const res = await fetch(`${served.url}/v1/score?ext=txt`, { method: 'POST', body: readFileSync(join(VECTORS_MH, 'files', 'apache.txt')) });
      const fromServer = (await res.json()).bpb;
      assert.ok(Math.abs(fromServer - fromCli) / fromCli <= 1e-5, `server ${fromServer}, CLI ${fromCli}`);
    } finally {
      await served.close();
    }
    const cells = await page.$$eval('#table table td', (tds) => tds.map((td) => td.textContent));
    assert.equal(cells[0], 'apache.txt');
    assert.equal(Number(cells[1]), Number(r.bpb.toFixed(3)), 'bits per byte in the table');
    assert.equal(Number(cells[2]), r.bytes);
    assert.ok(cells[3]!.length > 3, 'a verdict');
    // the map: the file's text, its runs of bytes shaded by their bits (s0 … s15)
    const map = await page.$eval('#table .smap', (e) => ({ text: e.textContent!, shades: new Set([...e.querySelectorAll('span')].map((s) => s.className)).size }));
    // the model's context: its first (L − 1)·S bytes
    const file = readFileSync(join(VECTORS_MH, 'files', 'apache.txt'), 'latin1');
    assert.ok(map.text.length >= 16 && map.text === file.slice(0, map.text.length), JSON.stringify(map.text.slice(0, 60)));
    assert.ok(map.shades >= 3, `${map.shades} shades`);
    const shot = join(tmpdir(), 'bgpt-page-score.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    assert.ok(png.length > 10_000 && png.subarray(1, 4).toString() === 'PNG', `a screenshot in ${shot}`);
  });

  for (const backend of BACKENDS) {
    it(`classifies with the vector classifier: ${backend} backend`, async (t) => {
      if (unavailable(t, backend)) return;
      const logits = vectors.classifier.logits, z = logits.map((l) => Math.exp(l)), sum = z.reduce((a, b) => a + b);
      const r = await query(`model=files/cls.pth&classify=files/a.txt&backend=${backend}`);
      assert.equal(r.backend, backend, JSON.stringify(r));
      const probs = Object.values(r.probs as Record<string, number>);
      assert.equal(probs.length, logits.length, JSON.stringify(r));
      probs.forEach((p, i) => assert.ok(Math.abs(p - z[i] / sum) <= 1e-4, `label ${i}: ${p} vs ${z[i] / sum}`));
      assert.equal(r.label, Object.keys(r.probs)[z.indexOf(Math.max(...z))]);
    });
  }

  it('detects a content type as bgpt detect does, and shows it as a table', async () => {
    const r = await query('model=files/cls.pth&detect=files/a.txt&backend=wasm');
    const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'detect', '--json', '-m', join(VECTORS, 'cls.pth'), join(dir, 'files', 'a.txt')], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const want = JSON.parse(cli.stdout);
    assert.equal(r.label, want.label, JSON.stringify(r));
    assert.ok(Math.abs(r.p - want.p) <= 1e-4, `page ${r.p}, CLI ${want.p}`);
    assert.deepEqual(r.top.map((t: { label: string }) => t.label), want.top.map((t: { label: string }) => t.label));
  });

  // Node's bytes exactly: the GPU sums in another order, but a sampled byte changes only if a uniform draw
  // falls within ~1e-7 of a cumulative probability's edge, which these 20 draws do not
  for (const backend of ['ts', 'webgpu']) {
    it(`generates with a seed: the bytes Node generates, shown as an image (${backend} backend)`, async (t) => {
      if (unavailable(t, backend)) return;
      const r = await query(`model=files/weights.pth&generate=bmp&seed=3&max=20&backend=${backend}`);
      const m = loadModelFile(tsKernels, join(VECTORS, 'weights.pth')).model as BgptModel;
      const want = generateFile(m, 'bmp', { topK: 0, topP: 1, temperature: 1, rng: new Rng(3), maxBytes: 20 });
      assert.equal(r.backend, backend, JSON.stringify(r));
      assert.equal(r.bytes, 20);
      assert.equal(r.stop, 'max-bytes');
      assert.deepEqual(Buffer.from(r.base64, 'base64'), Buffer.from(want.bytes));
      // the page repairs the header of a generated BMP for display: it decodes as a 32×32 image
      await page.waitForFunction(() => (document.querySelector('#outputs img') as HTMLImageElement | null)?.complete, { timeout: 10_000 });
      assert.equal(await page.$eval('#outputs img', (e) => (e as HTMLImageElement).naturalWidth), 32);
    });
  }

  it('computes the products of every backend as the TypeScript reference does', async () => {
    const { rows } = await query('check=matmul');
    assert.deepEqual([...new Set(rows.map((r: { backend: string }) => r.backend))], offered.backends.slice(1));
    assert.equal(rows.length, 32 * (offered.backends.length - 1));
    for (const r of rows) assert.ok(r.error <= 1e-5, JSON.stringify(r));
  });

  it('picks the backend by measurement when none is asked for', async () => {
    const { model } = await query('model=files/weights.pth');
    assert.deepEqual(Object.keys(model.measured), offered.backends);
    const rates = Object.values(model.measured as Record<string, number>);
    assert.ok(rates.every((v) => v > 0), JSON.stringify(model.measured));
    assert.equal(model.measured[model.backend], Math.max(...rates));
    assert.match(await page.$eval('#model-info', (e) => e.textContent!), /the fastest: ts [\d.]+, wasm [\d.]+(, webgpu [\d.]+)? GFLOP\/s/);
  });

  it('reads only the model of a checkpoint, not its optimizer state', async () => {
    const { model } = await query('model=files/with-optimizer.pth');
    const params = loadModelFile(tsKernels, join(VECTORS, 'weights.safetensors')).model.layout.size;
    assert.equal(model.params, params);
    assert.equal(model.skippedOptimizer, true);
    // the model's floats, plus at most the zip directory search (64 kB) and the pickle: none of the 8 MB of moments
    assert.ok(model.bytesRead < params * 4 + 200_000, `read ${model.bytesRead} of ${model.fileBytes} bytes`);
    assert.ok(model.fileBytes > params * 4 + OPTIMIZER_FLOATS * 4);
  });

  it('measures GFLOP/s on every backend and shows them', async () => {
    assert.deepEqual(offered.backends.slice(0, 2), ['ts', 'wasm']);
    const r = await query('bench=matmul');
    assert.deepEqual(r.rows.map((x: { backend: string }) => x.backend), offered.backends);
    for (const row of r.rows) assert.ok(row.value > 0 && row.unit === 'GFLOP/s', JSON.stringify(row));
    assert.match(r.webgpu, /^(adapter|absent|not used)/);
    const shown = await page.$eval('#bench-table', (e) => e.textContent!);
    for (const b of offered.backends) assert.match(shown, new RegExp(`${b}matmul[\\d.]+ GFLOP/s`));
  });

  it('offers WebGPU where Chromium has an adapter', async (t) => {
    if (unavailable(t, 'webgpu')) return;
    assert.deepEqual(offered.backends, BACKENDS);
    assert.match(offered.webgpu, /^adapter /);
  });

  it('offers ts and wasm, and says why not WebGPU, from a host without cross-origin isolation', async (t) => {
    if (unavailable(t, 'webgpu')) return;
    const plain = await servePlain(dir);
    try {
      const r = await query('backends', plain.url);
      assert.deepEqual(r.backends, ['ts', 'wasm']);
      assert.match(r.webgpu, /^adapter .*, not used: the page is not cross-origin isolated/);
      const s = await query('model=files/weights.pth&score=files/a.txt', plain.url);
      assert.ok(Math.abs(s.loss - single.loss) / single.loss <= 1e-4, JSON.stringify(s));
      assert.match(s.backend, /^(ts|wasm)$/);
    } finally {
      plain.server.close();
    }
  });

  it('answers errors as {"error"} naming the file', async () => {
    const r = await query('model=files/missing.pth&score=files/a.txt');
    assert.match(r.error, /missing\.pth/);
    const bad = await query('model=files/a.txt&score=files/a.txt');
    assert.match(bad.error, /a\.txt: not a model file/);
    assert.deepEqual(errors, []);
  });
});
