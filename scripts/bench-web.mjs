// In-page speed in headless Chromium: serves dist/site on 127.0.0.1, opens index.html?bench=matmul and
// ?bench=gen, and prints the page's rows (GFLOP/s, config b generation bytes/s, per backend) as JSON lines.
// --enable-unsafe-webgpu: WebGPU on the GPU's adapter, or on a software one (SwiftShader) where there is no GPU.
// Usage: node scripts/bench-web.mjs [runs]   (needs npm run build and /usr/bin/chromium or $BGPT_CHROMIUM)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { serveDir, siteDir } from '../dist/tasks/site.js';

const runs = Number(process.argv[2] ?? 3);
const profile = mkdtempSync(join(tmpdir(), 'bgpt-bench-web-'));
const { server, url } = await serveDir(siteDir(), 0);
const browser = await puppeteer.launch({
  executablePath: process.env.BGPT_CHROMIUM ?? '/usr/bin/chromium', headless: true, protocolTimeout: 1_200_000,
  args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`],
});
try {
  const page = await browser.newPage();
  const version = await browser.version();
  for (let run = 1; run <= runs; run++) {
    for (const what of ['matmul', 'gen']) {
      await page.goto(`${url}index.html?bench=${what}`);
      await page.waitForFunction(() => document.getElementById('result')?.textContent, { timeout: 600_000 });
      const r = JSON.parse(await page.$eval('#result', (e) => e.textContent));
      if (r.error) throw new Error(r.error);
      for (const row of r.rows) console.log(JSON.stringify({ browser: version, run, ...row, webgpu: r.webgpu }));
    }
  }
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
