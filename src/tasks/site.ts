/**
 * The browser app as a folder of static files (built by scripts/build-web.mjs into dist/site) and a small
 * file server for it, bound to 127.0.0.1 only: the page needs http(s) for its module worker and fetches, and
 * cross-origin isolation headers for the WebGPU backend.
 */
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DETECTOR, DEFAULT_MODEL } from '../io/default-model.js';
import { writeFileAtomic } from '../util/atomic.js';

/** The built site, dist/site of the package (this file is in src/tasks or dist/tasks). */
export function siteDir(): string {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'site');
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`the browser app is not built (${dir}); run npm run build`);
  return dir;
}

/** Files the site offers beside its own: the shipped base model, which the page opens by default, and the detector. */
function extras(): Record<string, string> {
  return Object.fromEntries(Object.entries({ 'base.safetensors': DEFAULT_MODEL, 'detect.safetensors': DEFAULT_DETECTOR }).filter(([, p]) => existsSync(p)));
}

/** Copies the site (and the shipped models) into `out` (created if needed); returns the files written. */
export function writeSite(out: string): string[] {
  const from = siteDir();
  mkdirSync(out, { recursive: true });
  const files = readdirSync(from).filter((f) => statSync(join(from, f)).isFile());
  for (const f of files) writeFileAtomic(join(out, f), readFileSync(join(from, f)));
  for (const [name, path] of Object.entries(extras())) {
    if (!existsSync(join(out, name))) writeFileAtomic(join(out, name), readFileSync(path));
    files.push(name);
  }
  return files;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm',
  '.json': 'application/json', '.txt': 'text/plain; charset=utf-8', '.bmp': 'image/bmp', '.wav': 'audio/wav', '.mid': 'audio/midi',
};

/** Cross-origin isolation: the page may then share memory between workers (the WebGPU backend needs it). */
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** Serves the files under `root` (nothing outside it) on 127.0.0.1:`port` (0: any free port). */
export function serveDir(root: string, port: number): Promise<{ server: Server; url: string }> {
  const base = resolve(root), offered = extras();
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    const extra = offered[path.slice(1)];
    // a file of the folder wins over the site's base model (a user's own base.safetensors beside the page)
    const own = resolve(base, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    const file = extra && !existsSync(own) ? extra : own;
    let size = -1;
    try {
      if (file === extra || file === base || file.startsWith(base + sep)) size = statSync(file).isFile() ? statSync(file).size : -1;
    } catch {
      // missing: 404 below
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (size < 0) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-length': size, 'cache-control': 'no-store', ...ISOLATED });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      ok({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}/` });
    });
  });
}
