/** `bgpt serve`: every route, results equal to solo runs under concurrency, limits and bad requests. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classify } from '../src/api/classify.js';
import { evaluateFiles } from '../src/tasks/eval.js';
import { compressBytes, modelId } from '../src/compress/codec.js';
import { Writer, writeHeader } from '../src/compress/container.js';
import { exactModel } from '../src/tasks/compress.js';
import { continueFile } from '../src/api/generate.js';
import { BatchedStreams, type StreamSpec } from '../src/serve/decoder.js';
import { scoreFiles, classifyFiles } from '../src/serve/files.js';
import { Scheduler } from '../src/serve/scheduler.js';
import { Rng } from '../src/util/rng.js';
import { ENDLESS, LABELS, serve, sseEvents, tinyClassifier, tinyGenerative, until, type Running } from './serve-helpers.js';

const gen = tinyGenerative(), cls = tinyClassifier();

/** Bytes of a solo run through the library's generator. */
function solo(prompt: Uint8Array, ext: string, seed: number, maxBytes: number, topK = 0): Uint8Array {
  return continueFile(gen.model, prompt, ext, undefined, { topK, topP: 1, temperature: 1, rng: new Rng(seed), maxBytes }).bytes;
}

function bodyOf(i: number): Uint8Array {
  const r = new Rng(100 + i), b = new Uint8Array(3 + 7 * i);
  for (let j = 0; j < b.length; j++) b[j] = r.int(256);
  return b;
}

const post = (url: string, body: string | Uint8Array, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', body, headers });

describe('serve: routes', () => {
  let g: Running, c: Running;
  before(async () => {
    g = await serve(gen);
    c = await serve(cls);
  });
  after(async () => {
    await g.close();
    await c.close();
  });

  it('GET /healthz', async () => {
    const r = await fetch(`${g.url}/healthz`);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).status, 'ok');
  });

  it('POST /v1/score equals bgpt eval of the same file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgpt-serve-'));
    const bytes = bodyOf(5);
    writeFileSync(join(dir, 'x.txt'), bytes);
    const want = evaluateFiles(gen.model, [join(dir, 'x.txt')]).files[0];
    const r = await post(`${g.url}/v1/score?ext=txt`, bytes);
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.deepEqual(Object.keys(j).sort(), ['bpb', 'bytes', 'loss']);
    assert.equal(j.bytes, bytes.length);
    assert.ok(Math.abs(j.loss - want.loss) <= 1e-6 * want.loss, `${j.loss} vs ${want.loss}`);
    assert.ok(Math.abs(j.bpb - want.bpb) <= 1e-6 * want.bpb);
  });

  it('POST /v1/classify equals bgpt classify of the same file', async () => {
    const bytes = bodyOf(3);
    const want = [...classify(cls.model, LABELS, [{ bytes, ext: 'bmp' }])[0].probs];
    const r = await post(`${c.url}/v1/classify?ext=bmp`, bytes);
    assert.equal(r.status, 200);
    const j = await r.json();
    const best = want.indexOf(Math.max(...want));
    assert.equal(j.label, LABELS[best]);
    LABELS.forEach((l, i) => assert.ok(Math.abs(j.probs[l] - want[i]) <= 1e-6, l));
  });

  it('POST /v1/generate (JSON) equals the generator run alone with the same seed', async () => {
    const prompt = Buffer.from('hello');
    const r = await post(`${g.url}/v1/generate`, JSON.stringify({ ext: 'txt', prompt_base64: prompt.toString('base64'), max_bytes: 30, seed: 7 }));
    assert.equal(r.status, 200);
    const j = await r.json();
    const want = solo(prompt, 'txt', 7, 30);
    assert.deepEqual(Buffer.from(j.bytes_base64, 'base64'), Buffer.from(want));
    assert.equal(j.bytes, want.length);
    assert.ok(['end', 'length', 'max-bytes'].includes(j.stop));
  });

  it('POST /v1/generate with "stream": true sends the bytes as server-sent events', async () => {
    const r = await post(`${g.url}/v1/generate`, JSON.stringify({ ext: 'bin', max_bytes: 25, seed: 3, stream: true }));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/event-stream/);
    const ev = sseEvents(await r.text());
    const last = ev.pop()!;
    assert.equal(last.event, 'end');
    assert.ok(ev.every((e) => e.event === 'bytes'));
    const bytes = Buffer.concat(ev.map((e) => Buffer.from(e.data.bytes_base64 as string, 'base64')));
    assert.deepEqual(bytes, Buffer.from(solo(new Uint8Array(0), 'bin', 3, 25)));
    assert.equal(last.data.bytes, bytes.length);
  });

  it('GET /metrics in the Prometheus text format', async () => {
    const r = await fetch(`${g.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/plain/);
    const t = await r.text();
    for (const name of ['bgpt_requests_total', 'bgpt_request_duration_seconds_bucket', 'bgpt_generated_bytes_total', 'bgpt_generated_bytes_per_second', 'bgpt_batch_size_bucket', 'bgpt_queue_depth', 'bgpt_model_info', 'process_resident_memory_bytes']) {
      assert.ok(t.includes(`\n${name}`), `${name} missing`);
    }
    assert.match(t, /bgpt_requests_total\{route="\/v1\/generate",status="200"\} 2/);
    assert.match(t, /bgpt_model_info\{task="generative".*patch_size="4"/);
  });
});

describe('serve: batching gives each request its solo result', () => {
  /** The decoder's stream for `prompt` (a file of type .dat); the header patch as headerPatch makes it. */
  function specOf(prompt: Uint8Array, seed: number, maxBytes: number): StreamSpec {
    const S = gen.config.patchSize, whole = Math.floor(prompt.length / S) * S;
    const context = new Int32Array(S + whole).fill(256);
    context.set(Buffer.from('dat'));
    context.set(prompt.subarray(0, whole), S);
    return { context, partial: prompt.subarray(whole), sampling: { topK: 0, topP: 1, temperature: 1 }, seed, maxBytes };
  }

  /** Runs a stream through the scheduler; `onByte` sees each byte's index as it comes. */
  function run(s: Scheduler<unknown>, spec: StreamSpec, onByte?: (i: number) => void): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const out: number[] = [];
      s.generate(spec, { byte: (b) => (out.push(b), onByte?.(out.length)), end: () => resolve(Uint8Array.from(out)), fail: reject });
    });
  }

  it('streams submitted together decode in one batch, each equal to its solo run', async () => {
    const dec = new BatchedStreams(gen.model, 8), sizes: number[] = [];
    const s = new Scheduler({ maxBatch: 8, maxBatchPatches: 1000, maxQueue: 10 }, { decoder: dec, patchesOf: () => 1 }, { batch: (k, n) => k === 'generate' && sizes.push(n), generated: () => {} });
    const got = await Promise.all([0, 1, 2, 3].map((i) => run(s, specOf(bodyOf(i).subarray(0, i * 3), 40 + i, 10 + 5 * i))));
    got.forEach((b, i) => assert.deepEqual(b, solo(bodyOf(i).subarray(0, i * 3), 'dat', 40 + i, 10 + 5 * i), `stream ${i}`));
    assert.equal(sizes[0], 4, 'all four streams share the first step');
  });

  it('a stream that arrives mid-patch joins at the next patch boundary and shares the patch-level forwards', async () => {
    const m = tinyGenerative(), rows: number[] = [], forward = m.model.patchDecoder.forward.bind(m.model.patchDecoder);
    m.model.patchDecoder.forward = (tokens, B, ...rest) => (rows.push(B), forward(tokens, B, ...rest));
    const alone = (seed: number) => continueFile(m.model, new Uint8Array(0), 'dat', undefined, { topK: 0, topP: 1, temperature: 1, rng: new Rng(seed), maxBytes: 12 }).bytes;
    const want = [alone(5), alone(6)];
    assert.deepEqual(want.map((b) => b.length), [12, 12], 'both streams run to max_bytes (three patches of 4)');
    rows.length = 0;
    const s = new Scheduler({ maxBatch: 4, maxBatchPatches: 1000, maxQueue: 10 }, { decoder: new BatchedStreams(m.model, 4), patchesOf: () => 1 });
    let second!: Promise<Uint8Array>;
    // the second arrives after the first's 2nd byte: it waits for the first's patch to complete, then its
    // header patch goes through the patch-level decoder with that patch
    const first = run(s, specOf(new Uint8Array(0), 5, 12), (i) => i === 2 && (second = run(s, specOf(new Uint8Array(0), 6, 12))));
    assert.deepEqual(await first, want[0]);
    assert.deepEqual(await second, want[1]);
    // the first's header; then at each boundary one forward for both (the first's patch with the second's
    // header, then their next patches); the second's last patch alone
    assert.deepEqual(rows, [1, 2, 2, 2, 1]);
  });

  it('bodies submitted together run as one forward, each equal to its solo score', async () => {
    const calls: number[] = [];
    const s = new Scheduler({ maxBatch: 8, maxBatchPatches: 1000, maxQueue: 10 }, {
      runFiles: (f) => {
        calls.push(f.length);
        return scoreFiles(gen.model, f);
      },
      patchesOf: () => 1,
    });
    const files = [0, 1, 2, 3, 4].map((i) => ({ bytes: bodyOf(i), ext: i % 2 ? 'txt' : '' }));
    const got = await Promise.all(files.map((f) => s.runFile(f).result));
    assert.deepEqual(calls, [5]);
    files.forEach((f, i) => {
      const want = scoreFiles(gen.model, [f])[0];
      assert.ok(Math.abs(got[i].loss - want.loss) <= 1e-5 * want.loss, `${i}: ${got[i].loss} vs ${want.loss}`);
    });
  });

  it('the padded batch budget splits a queue into several forwards', async () => {
    const calls: number[] = [];
    const s = new Scheduler({ maxBatch: 8, maxBatchPatches: 4, maxQueue: 10 }, {
      runFiles: (f) => (calls.push(f.length), f.map(() => 0)),
      patchesOf: (f) => f.bytes.length,
    });
    await Promise.all([1, 1, 3, 2, 1].map((n) => s.runFile({ bytes: new Uint8Array(n), ext: '' }).result));
    assert.deepEqual(calls, [2, 1, 2]); // [1,1] | [3] (2×3 > 4) | [2,1]
  });

  it('concurrent HTTP requests get their solo results', async () => {
    const g = await serve(gen), c = await serve(cls);
    try {
      const gens = [0, 1, 2, 3, 4, 5].map((i) => post(`${g.url}/v1/generate`, JSON.stringify({ ext: 'txt', prompt_base64: Buffer.from(bodyOf(i).subarray(0, 2 * i)).toString('base64'), max_bytes: 12 + i, seed: i, top_k: i % 3 })).then((r) => r.json()));
      const scores = [0, 1, 2, 3, 4, 5].map((i) => post(`${g.url}/v1/score?ext=bin`, bodyOf(i)).then((r) => r.json()));
      const classes = [0, 1, 2, 3].map((i) => post(`${c.url}/v1/classify?ext=wav`, bodyOf(i)).then((r) => r.json()));
      const [gj, sj, cj] = await Promise.all([Promise.all(gens), Promise.all(scores), Promise.all(classes)]);
      gj.forEach((j, i) => assert.deepEqual(Buffer.from(j.bytes_base64, 'base64'), Buffer.from(solo(bodyOf(i).subarray(0, 2 * i), 'txt', i, 12 + i, i % 3)), `generate ${i}`));
      sj.forEach((j, i) => {
        const want = scoreFiles(gen.model, [{ bytes: bodyOf(i), ext: 'bin' }])[0].loss;
        assert.ok(Math.abs(j.loss - want) <= 1e-5 * want, `score ${i}`);
      });
      cj.forEach((j, i) => {
        const want = classifyFiles(cls.model, LABELS, [{ bytes: bodyOf(i), ext: 'wav' }])[0];
        assert.equal(j.label, want.label);
        for (const l of LABELS) assert.ok(Math.abs(j.probs[l] - want.probs[l]) <= 1e-5, `classify ${i} ${l}`);
      });
    } finally {
      await g.close();
      await c.close();
    }
  });
});

describe('serve: limits and bad requests', () => {
  let g: Running;
  const TOKEN = 's3cret-token';
  const auth = { Authorization: `Bearer ${TOKEN}` };
  before(async () => {
    g = await serve(gen, { token: TOKEN, limits: { maxBody: 1000, maxBytes: 50 } });
  });
  after(async () => g.close());

  /** Status and one-line JSON error, then proof the server still answers. */
  async function expectError(r: Response, status: number, mention: RegExp): Promise<void> {
    assert.equal(r.status, status);
    const text = await r.text();
    assert.equal(text.trim().split('\n').length, 1, text);
    assert.match(JSON.parse(text).error, mention);
    assert.equal((await fetch(`${g.url}/healthz`)).status, 200);
  }

  const gen400: [string, RegExp][] = [
    ['{"ext":"txt"', /not valid JSON/],
    ['[1,2]', /JSON object/],
    ['"x"', /JSON object/],
    ['{"ext":5}', /ext must be a string/],
    ['{"max_bytes":"10"}', /max_bytes must be a number/],
    ['{"max_bytes":51}', /max_bytes must be a whole number from 1 to 50/],
    ['{"max_bytes":0}', /max_bytes/],
    ['{"max_bytes":1.5}', /max_bytes/],
    ['{"top_k":-1}', /top_k/],
    ['{"top_p":0}', /top_p/],
    ['{"temperature":0}', /temperature/],
    ['{"seed":-3}', /seed/],
    ['{"stream":"yes"}', /stream must be a boolean/],
    ['{"prompt_base64":"%%%"}', /base64/],
    ['{"model":"/etc/passwd"}', /unknown field "model"/],
    ['{"path":"x.pth"}', /unknown field "path"/],
    ['{"ext":"../../x"}', /ext must be/],
    [JSON.stringify({ prompt_base64: Buffer.alloc(24 * 4).toString('base64') }), /leaves no room/],
  ];
  for (const [body, mention] of gen400) {
    it(`generate ${body.slice(0, 40)} → 400`, async () => expectError(await post(`${g.url}/v1/generate`, body, auth), 400, mention));
  }

  it('score: unknown query parameters and bad extensions → 400', async () => {
    await expectError(await post(`${g.url}/v1/score?path=/etc/passwd`, 'x', auth), 400, /unknown query parameter "path"/);
    await expectError(await post(`${g.url}/v1/score?ext=a/b`, 'x', auth), 400, /ext must be/);
    await expectError(await post(`${g.url}/v1/score?ext=a&ext=b`, 'x', auth), 400, /more than once/);
  });

  it('a model of the wrong task → 400', async () => {
    await expectError(await post(`${g.url}/v1/classify?ext=txt`, 'x', auth), 400, /needs a classification model/);
    const c = await serve(cls);
    try {
      const r = await post(`${c.url}/v1/generate`, '{}');
      assert.equal(r.status, 400);
      assert.match((await r.json()).error, /needs a generative model/);
      assert.equal((await post(`${c.url}/v1/score`, 'x')).status, 400);
    } finally {
      await c.close();
    }
  });

  it('bodies over the limit → 413, announced or streamed', async () => {
    await expectError(await post(`${g.url}/v1/score?ext=txt`, new Uint8Array(1001), auth), 413, /limit of 1000 bytes/);
    const chunked = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < 5; i++) ctl.enqueue(new Uint8Array(300));
        ctl.close();
      },
    });
    const r = await fetch(`${g.url}/v1/score?ext=txt`, { method: 'POST', body: chunked, headers: auth, duplex: 'half' } as RequestInit);
    await expectError(r, 413, /limit/);
    assert.equal((await post(`${g.url}/v1/score?ext=txt`, new Uint8Array(1000), auth)).status, 200);
  });

  it('the bearer token is required (not on /healthz), unknown routes 404, wrong methods 405', async () => {
    await expectError(await post(`${g.url}/v1/score`, 'x'), 401, /bearer token/);
    await expectError(await post(`${g.url}/v1/score`, 'x', { Authorization: `Bearer ${TOKEN}x` }), 401, /bearer token/);
    await expectError(await post(`${g.url}/v1/score`, 'x', { Authorization: TOKEN }), 401, /bearer token/);
    await expectError(await fetch(`${g.url}/metrics`), 401, /bearer token/);
    assert.equal((await fetch(`${g.url}/metrics`, { headers: auth })).status, 200);
    await expectError(await fetch(`${g.url}/v1/nothing`, { headers: auth }), 404, /no route/);
    const r = await fetch(`${g.url}/v1/generate`, { headers: auth });
    assert.equal(r.headers.get('allow'), 'POST');
    await expectError(r, 405, /takes POST/);
  });
});

describe('serve: queue and time limits', () => {
  it('a full queue → 429 with Retry-After; freed room is used again', async () => {
    const s = await serve(gen, { decoderModule: ENDLESS, limits: { maxBatch: 1, maxQueue: 1 } });
    try {
      const a = new AbortController(), b = new AbortController();
      const ra = await fetch(`${s.url}/v1/generate`, { method: 'POST', body: '{"stream":true}', signal: a.signal });
      assert.equal(ra.status, 200);
      await until(() => s.server.metrics.text().then((t) => /bgpt_active_streams 1/.test(t)));
      const pb = fetch(`${s.url}/v1/generate`, { method: 'POST', body: '{}', signal: b.signal }).catch(() => null);
      await until(async () => (await (await fetch(`${s.url}/healthz`)).json()).queued === 1);
      for (const [path, body] of [['/v1/generate', '{}'], ['/v1/score', 'x']]) {
        const r = await post(`${s.url}${path}`, body);
        assert.equal(r.status, 429);
        assert.equal(r.headers.get('retry-after'), '1');
        assert.match((await r.json()).error, /queue is full/);
      }
      a.abort();
      b.abort();
      await pb;
      await until(async () => (await (await fetch(`${s.url}/healthz`)).json()).active === 0);
      await ra.body?.cancel().catch(() => {});
    } finally {
      await s.close();
    }
  });

  it('a request past the time limit → 504 (JSON) or an error event (stream), and leaves the batch', async () => {
    const s = await serve(gen, { decoderModule: ENDLESS, limits: { timeLimitMs: 150 } });
    try {
      const r = await post(`${s.url}/v1/generate`, '{}');
      assert.equal(r.status, 504);
      assert.match((await r.json()).error, /time limit of 0.15 s/);
      const sr = await post(`${s.url}/v1/generate`, '{"stream":true}');
      assert.equal(sr.status, 200);
      const ev = sseEvents(await sr.text());
      assert.equal(ev[ev.length - 1].event, 'error');
      assert.equal(ev[ev.length - 1].data.status, 504);
      assert.equal((await (await fetch(`${s.url}/healthz`)).json()).active, 0);
    } finally {
      await s.close();
    }
  });

  it('draining fails what is still running after the grace period and refuses new work', async () => {
    const s = await serve(gen, { decoderModule: ENDLESS });
    const r = await post(`${s.url}/v1/generate`, '{"stream":true}');
    const text = r.text();
    const d = await s.server.drain(100);
    assert.equal(d.unfinished, 1);
    const ev = sseEvents(await text);
    assert.equal(ev[ev.length - 1].event, 'error');
    assert.match(String(ev[ev.length - 1].data.error), /shut down/);
    await assert.rejects(fetch(`${s.url}/healthz`));
  });
});

describe('serve: compression', () => {
  it('POST /v1/compress gives the library\'s .bgpz; /v1/decompress gives the bytes and extension back', async () => {
    const s = await serve(gen, { limits: { maxBody: 2000 } });
    try {
      const data = Buffer.from('abcabcabc '.repeat(30));
      const r = await post(`${s.url}/v1/compress?ext=txt`, data);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/octet-stream');
      const z = Buffer.from(await r.arrayBuffer());
      assert.deepEqual(z, Buffer.from(compressBytes(exactModel(gen.model), data, 'txt')));
      const d = await post(`${s.url}/v1/decompress`, z);
      assert.equal(d.status, 200);
      assert.equal(d.headers.get('bgpt-ext'), 'txt');
      assert.deepEqual(Buffer.from(await d.arrayBuffer()), data);
    } finally {
      await s.close();
    }
  });

  it('bad .bgpz bodies → 400, an output over the body limit → 413, a classifier → 400', async () => {
    const big = await serve(gen, { limits: { maxBody: 5000 } }), c = await serve(cls);
    try {
      const z = Buffer.from(await (await post(`${big.url}/v1/compress?ext=bin`, new Uint8Array(3000))).arrayBuffer());
      // a header alone that announces more than the limit is refused before anything is allocated
      const w = new Writer();
      writeHeader(w, { length: 10 ** 9, modelId: modelId(gen.model), rule: { window: 4, carry: 2, blockWindows: 1 }, ext: 'bin', check: 0 });
      const over = await post(`${big.url}/v1/decompress`, w.finish());
      assert.equal(over.status, 413);
      assert.match((await over.json()).error, /would be 1000000000 bytes/);
      const junk = await post(`${big.url}/v1/decompress`, 'not a bgpz file');
      assert.equal(junk.status, 400);
      assert.match((await junk.json()).error, /not a \.bgpz file/);
      const flipped = Buffer.from(z);
      flipped[flipped.length - 1] ^= 0xff;
      const bad = await post(`${big.url}/v1/decompress`, flipped);
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).error, /cannot decompress/);
      assert.equal((await post(`${big.url}/v1/decompress?ext=txt`, z)).status, 400);
      assert.equal((await post(`${c.url}/v1/compress`, 'x')).status, 400);
      assert.equal((await fetch(`${big.url}/healthz`)).status, 200);
    } finally {
      await big.close();
      await c.close();
    }
  });
});
