// Builds the browser app into dist/site: index.html, the page, worker and GPU worker bundles (ES modules, esbuild) and the
// WebAssembly kernels. `bgpt web` copies or serves that folder. The bundles share src/ with the Node package;
// the few Node-only modules they reach (file output, folder walks: never called in the page) resolve to an
// empty module, and the build fails if a bundle still refers to a Node built-in.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'site');
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

const nodeOnly = {
  name: 'node-only',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => (builtins.has(a.path) ? { path: a.path, namespace: 'node-only' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

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
  plugins: [nodeOnly],
  logLevel: 'warning',
  metafile: true,
});
for (const [file, o] of Object.entries(result.metafile.outputs)) {
  const text = readFileSync(join(root, file), 'utf8');
  const leak = /\b(?:require\(|from\s*)["']node:/.exec(text);
  if (leak) throw new Error(`${file} refers to a Node built-in`);
  void o;
}
copyFileSync(join(root, 'src/web/index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'src/backend/wasm/kernels.wasm'), join(out, 'bgpt-kernels.wasm'));
