/** `bgpt serve` under hostile input (a seeded fuzz over raw sockets) and SIGTERM during a stream. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import { saveWeights } from '../src/io/weights.js';
import { BgptServer } from '../src/serve/server.js';
import { BgptModel } from '../src/model/bgpt.js';
import { Rng } from '../src/util/rng.js';
import { ROOT } from './helpers.js';
import { ENDLESS, serve, sseEvents, tinyGenerative, until } from './serve-helpers.js';

const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const TOKEN = 'fuzz-token';

/** Writes raw bytes to the server and reads until it closes (at most `ms`); returns the status or null. */
function raw(port: number, data: Buffer, ms = 2000): Promise<{ status: number | null; text: string }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text });
    };
    const timer = setTimeout(done, ms);
    sock.on('data', (c) => chunks.push(c));
    sock.on('close', done);
    sock.on('error', done);
    sock.write(data);
  });
}

const pick = <T>(r: Rng, a: T[]): T => a[r.int(a.length)];

function junk(r: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

/** A JSON value of any type (nested a little). */
function anyValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 6 : 8)) {
    case 0: return null;
    case 1: return r.int(2) === 1;
    case 2: return pick(r, [0, -1, 1, 0.5, 1e308, -1e308, 2 ** 53, 255, 256, 4096, 1e-300]);
    case 3: return r.int(100000) - 50000;
    case 4: return pick(r, ['', 'txt', 'A'.repeat(100), '../../etc/passwd', '\u0000', 'aGVsbG8=', '====', '\ud800']);
    case 5: return junk(r, r.int(20)).toString('latin1');
    case 6: return Array.from({ length: r.int(4) }, () => anyValue(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [pick(r, ['ext', 'seed', '__proto__', 'constructor', 'x']), anyValue(r, depth + 1)]));
  }
}

const FIELDS = ['ext', 'prompt_base64', 'max_bytes', 'top_k', 'top_p', 'temperature', 'seed', 'stream', 'model', 'path', '__proto__'];

function fuzzBody(r: Rng): Buffer {
  switch (r.int(5)) {
    case 0: return junk(r, r.int(300));
    case 1: { // a valid request with some fields replaced by anything
      const o: Record<string, unknown> = { ext: 'txt', max_bytes: 1 + r.int(8), seed: r.int(1000), stream: r.int(2) === 1, prompt_base64: junk(r, r.int(12)).toString('base64') };
      for (let i = r.int(3); i > 0; i--) o[pick(r, FIELDS)] = anyValue(r);
      return Buffer.from(JSON.stringify(o));
    }
    case 2: { // valid JSON cut short or with a byte flipped
      const s = Buffer.from(JSON.stringify({ ext: 'bin', max_bytes: 4, seed: 1 }));
      if (r.int(2)) return s.subarray(0, r.int(s.length));
      s[r.int(s.length)] = r.int(256);
      return s;
    }
    case 3: return Buffer.from(JSON.stringify(anyValue(r)));
    default: return Buffer.from('{"max_bytes":3,"seed":' + r.int(100) + '}');
  }
}

function fuzzRequest(r: Rng): Buffer {
  const method = pick(r, ['GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'BREW', 'G\x00T']);
  const path = pick(r, ['/v1/generate', '/v1/generate', '/v1/score?ext=txt', '/v1/score', '/v1/classify?ext=bmp', '/healthz', '/metrics',
    '/v1/score?ext=../../etc/passwd', '/v1/score?model=/tmp/x.pth', '/v1/generate?x=1', '//', '/%', '/v1/%zz', `/${'a'.repeat(3000)}`, '*', 'http://other/v1/score', junk(r, 8).toString('latin1')]);
  const body = fuzzBody(r);
  const headers: string[] = [];
  if (r.int(10) < 8) headers.push(`Authorization: Bearer ${r.int(10) < 8 ? TOKEN : junk(r, 10).toString('latin1')}`);
  if (r.int(2)) headers.push(`Content-Type: ${pick(r, ['application/json', 'text/plain', 'multipart/form-data; boundary=x', junk(r, 6).toString('latin1')])}`);
  const framing = r.int(10);
  let payload = body;
  if (framing < 6) headers.push(`Content-Length: ${body.length}`);
  else if (framing < 7) headers.push(`Content-Length: ${pick(r, ['-1', 'abc', '1e3', String(2 ** 60), `${body.length}, ${body.length + 1}`])}`);
  else if (framing < 9) { // chunked, sometimes with broken sizes
    headers.push('Transfer-Encoding: chunked');
    const size = r.int(4) ? body.length.toString(16) : pick(r, ['zz', '-5', 'ffffffffffffffff']);
    payload = Buffer.concat([Buffer.from(`${size}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
  } else payload = Buffer.alloc(0);
  for (let i = r.int(3); i > 0; i--) headers.push(`${pick(r, ['X-A', 'Host', 'Expect', 'Connection', junk(r, 5).toString('latin1')])}: ${pick(r, ['100-continue', 'keep-alive', '', junk(r, 12).toString('latin1')])}`);
  headers.push('Connection: close');
  return Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

describe('serve: hostile input', () => {
  it('a seeded fuzz of 400 raw requests never kills the server nor fails inside it (no 500)', async () => {
    const s = await serve(tinyGenerative(), { token: TOKEN, limits: { maxBody: 200, maxBytes: 8, timeLimitMs: 300 } });
    const port = Number(new URL(s.url).port);
    try {
      const r = new Rng(2024), seen = new Map<number | null, number>();
      const t0 = Date.now();
      for (let i = 0; i < 400 && Date.now() - t0 < 30_000; i++) {
        const req = fuzzRequest(r);
        const { status, text } = await raw(port, req);
        seen.set(status, (seen.get(status) ?? 0) + 1);
        assert.ok(status === null || status < 500 || status === 504, `case ${i}: ${status}\n${req.toString('latin1').slice(0, 300)}\n→ ${text.slice(0, 300)}`);
      }
      const ok = await fetch(`${s.url}/healthz`);
      assert.equal(ok.status, 200);
      // the fuzz reached the handlers, not only the HTTP parser
      for (const st of [200, 400, 401, 404, 405, 413]) assert.ok((seen.get(st) ?? 0) > 0, `no ${st} among ${[...seen]}`);
      const g = await fetch(`${s.url}/v1/generate`, { method: 'POST', body: '{"max_bytes":3,"seed":1}', headers: { Authorization: `Bearer ${TOKEN}` } });
      assert.equal(g.status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('serve: memory under many large bodies', () => {
  it('counts the bodies held at once against --max-bodies: 503 beyond it, the room given back when a request ends', async () => {
    const s = await serve(tinyGenerative(), { limits: { maxBody: 1000, maxBodies: 2500 } });
    const port = Number(new URL(s.url).port);
    // a score whose body is announced whole but sent in part: it holds its bytes while the rest is awaited
    const held = () => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/score', headers: { 'content-length': 1000 } });
      const answer = new Promise<number>((ok) => req.on('response', (r) => (r.resume(), ok(r.statusCode!))));
      req.write(Buffer.alloc(900, 97));
      return { finish: () => req.end(Buffer.alloc(100, 97)), answer };
    };
    try {
      const a = held(), b = held();
      await new Promise((r) => setTimeout(r, 200));
      // 1,800 bytes held: a third announced body of 1,000 does not fit in 2,500
      const c = await fetch(`${s.url}/v1/score`, { method: 'POST', body: Buffer.alloc(1000, 97) });
      assert.equal(c.status, 503);
      assert.equal(c.headers.get('retry-after'), '1');
      assert.match((await c.json()).error, /holds 1800 bytes of request bodies, its limit is 2500/);
      // one sent without a length is cut off when its bytes run past the room
      const chunked = await fetch(`${s.url}/v1/score`, { method: 'POST', body: new Blob([Buffer.alloc(1000, 97)]).stream(), duplex: 'half' } as RequestInit);
      assert.equal(chunked.status, 503);
      a.finish();
      b.finish();
      assert.deepEqual(await Promise.all([a.answer, b.answer]), [200, 200]);
      await new Promise((r) => setTimeout(r, 50));
      const d = await fetch(`${s.url}/v1/score`, { method: 'POST', body: Buffer.alloc(1000, 97) });
      assert.equal(d.status, 200, 'the room came back');
    } finally {
      await s.close();
    }
  });
});

describe('serve: compute off the HTTP thread', () => {
  it('answers /healthz and /metrics within 250 ms while every decoding step computes for a second', async () => {
    const s = await serve(tinyGenerative(), { decoderModule: `${ENDLESS}?stepMs=1000`, limits: { timeLimitMs: 3000 } });
    try {
      const gen = fetch(`${s.url}/v1/generate`, { method: 'POST', body: '{"max_bytes":50,"seed":1}' }).then((r) => r.status);
      await until(async () => (await (await fetch(`${s.url}/healthz`)).json()).active === 1);
      const times: number[] = [];
      for (let i = 0; i < 8; i++) {
        const t0 = performance.now();
        const r = await fetch(`${s.url}/${i % 2 ? 'metrics' : 'healthz'}`);
        await r.arrayBuffer();
        assert.equal(r.status, 200);
        times.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 150));
      }
      // 8 probes over 1.2 s: some of them arrive while a step runs
      assert.ok(Math.max(...times) < 250, `probe times ${times.map(Math.round)} ms`);
      assert.equal(await gen, 504);
    } finally {
      await s.close();
    }
  });

  it('a worker that dies fails what is in flight with one line, and /healthz answers 503', async () => {
    let died: Error | null = null;
    const s = await serve(tinyGenerative(), { decoderModule: `${ENDLESS}?exit=7`, onWorkerExit: (e) => (died = e) });
    try {
      const r = await fetch(`${s.url}/v1/generate`, { method: 'POST', body: '{"max_bytes":5,"seed":1}' });
      assert.equal(r.status, 500);
      assert.match((await r.json()).error, /^the compute worker stopped \(exit code 7\)$/);
      assert.match(String(died), /exit code 7/);
      const h = await fetch(`${s.url}/healthz`);
      assert.equal(h.status, 503);
      assert.equal((await h.json()).status, 'failed');
      const again = await fetch(`${s.url}/v1/score`, { method: 'POST', body: 'abc' });
      assert.equal(again.status, 503);
      assert.match((await again.json()).error, /cannot compute: the compute worker stopped/);
    } finally {
      await s.close();
    }
  });

  it('a model file that cannot be read fails listen() with the file named', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'bgpt-serve-')), 'bad.safetensors');
    writeFileSync(bad, 'not a model');
    await assert.rejects(new BgptServer({ path: bad }, { port: 0 }).listen(), (e: Error) => e.message.includes(bad));
  });

  it('a port already taken fails listen() (and lets the worker go)', async () => {
    const s = await serve(tinyGenerative());
    try {
      await assert.rejects(new BgptServer(tinyGenerative(), { port: Number(new URL(s.url).port) }).listen(), /EADDRINUSE/);
    } finally {
      await s.close();
    }
  });
});

describe('serve: SIGTERM', () => {
  it('during a streamed generation: stops accepting, finishes the stream, exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgpt-serve-'));
    const weights = join(dir, 'm.safetensors');
    // about 1 ms a byte on the TypeScript backend: the stream is still running when the signal arrives
    const m = new BgptModel(tsKernels, { patchSize: 8, patchLength: 64, hidden: 64, patchLayers: 1, byteLayers: 1, heads: 1 }, { rng: new Rng(5) });
    saveWeights(weights, m.layout, m.params.data);
    const child = spawn(process.execPath, [CLI, 'serve', '-m', weights, '--port', '0', '--grace', '20'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BGPT_BACKEND: 'ts' } });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          if (out.includes('\n')) resolve(out.split('\n')[0]);
        });
        setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 15_000);
      });
      const url = JSON.parse(line).listening as string;
      const r = await fetch(`${url}/v1/generate`, { method: 'POST', body: JSON.stringify({ ext: 'txt', max_bytes: 300, seed: 4, stream: true }) });
      assert.equal(r.status, 200);
      const reader = r.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value);
      child.kill('SIGTERM');
      for (let i = 0; i < 10_000; i++) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const ev = sseEvents(text);
      assert.deepEqual(ev[ev.length - 1], { event: 'end', data: { bytes: 300, stop: 'max-bytes' } }, text.slice(-200));
      assert.equal(await exited, 0);
      assert.match(err, /SIGTERM: no new requests; 1 in flight/);
      assert.match(err, /stopped\n$/);
      await assert.rejects(fetch(`${url}/healthz`));
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('bgpt bench serve', () => {
  it('drives a server on loopback and reports throughput, latency, errors, memory and health-check times', () => {
    const r = spawnSync(process.execPath, [CLI, 'bench', 'serve', '--config', 'a', '--route', 'generate,score', '--clients', '1,2', '--duration', '1', '--max-bytes', '32', '--body-bytes', '300', '--background-score'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.route, l.clients]), [['generate', 1], ['generate', 2], ['score', 1], ['score', 2], [undefined, undefined]]);
    for (const l of lines.slice(0, 4)) {
      assert.deepEqual(l.errors, {});
      assert.ok(l.requests > 0 && l.bytes_per_s > 0, JSON.stringify(l));
      assert.ok(l.latency_ms.p50 <= l.latency_ms.p95 && l.latency_ms.p95 <= l.latency_ms.p99 && l.latency_ms.p99 <= l.latency_ms.max);
      assert.ok(l.server_rss_mb.before > 0 && l.server_rss_mb.after > 0);
      assert.ok(l.server_cpu_s > 0 && l.bytes_per_server_cpu_s > 0, JSON.stringify(l));
      assert.ok(l.healthz_ms.n > 0 && l.healthz_ms.p50 <= l.healthz_ms.p99 && l.healthz_ms.p99 <= l.healthz_ms.max, JSON.stringify(l));
      assert.ok(l.background_scores.n > 0, JSON.stringify(l));
    }
    assert.ok(typeof lines[1].speedup_vs_1_client === 'number');
    assert.deepEqual(lines[4], { server_exit: 0 });
  });
});
