// Builds the browser app into dist/site: index.html, the page, worker and GPU worker bundles (ES modules, esbuild) and the
// WebAssembly kernels. `bgpt web` copies or serves that folder. The bundles share src/ with the Node package, and so
// does `bgpt/web` (src/browser.ts), bundled here too as a check: no Node built-in may be imported (modules that read
// files reach Node's fs only when called, src/util/node.ts), so esbuild fails on one, with no stub to hide it.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'site');

mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { 'bgpt-page': join(root, 'src/web/page.ts'), 'bgpt-worker': join(root, 'src/web/worker.ts'), 'bgpt-gpu-worker': join(root, 'src/web/gpu-worker.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
for (const [file, o] of Object.entries(result.metafile.outputs)) {
  const text = readFileSync(join(root, file), 'utf8');
  const leak = /\b(?:require\(|from\s*)["']node:/.exec(text);
  if (leak) throw new Error(`${file} refers to a Node built-in`);
  void o;
}
// bgpt/web as a bundler would take it
await build({ entryPoints: [join(root, 'src/browser.ts')], bundle: true, write: false, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'warning' });
copyFileSync(join(root, 'src/web/index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'src/backend/wasm/kernels.wasm'), join(out, 'bgpt-kernels.wasm'));
