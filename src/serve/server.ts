/**
 * The HTTP server of `bgpt serve` (node:http). Routes: POST /v1/score, /v1/classify, /v1/generate,
 * /v1/compress, /v1/decompress; GET /healthz, /metrics. The model is fixed at start; requests carry only data. Compute runs on the event loop
 * between network events, one batch turn at a time (see scheduler.ts).
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { headerPatch } from '../data/patches.js';
import type { LoadedModel } from '../io/weights.js';
import { compressBytes, decompressBytes } from '../compress/codec.js';
import { Reader, readHeader } from '../compress/container.js';
import type { ExactBgpt } from '../compress/exact-model.js';
import { exactModel } from '../tasks/compress.js';
import type { StopReason } from '../api/generate.js';
import { BatchedStreams, type StreamRunner, type StreamSpec } from './decoder.js';
import { inputPatches } from '../api/score.js';
import { classifyFiles, scoreFiles, type ClassProbs, type FileInput, type Score } from './files.js';
import { ServeMetrics } from './metrics.js';
import { BodyBudget, HttpError, extParam, noQuery, parseGenerate, readBody, thresholdParam, type GenerateRequest } from './request.js';
import { detection, detectHeadBytes } from '../api/detect.js';
import { QueueFull, Scheduler, type GenerateSink } from './scheduler.js';

export interface ServeLimits {
  /** Largest request body in bytes (413 past it). */
  maxBody: number;
  /** Bytes of request bodies held at once over all requests (503 past it; at least maxBody). */
  maxBodies: number;
  /** Most requests waiting to start (429 past it). */
  maxQueue: number;
  /** Most generation streams decoded together and most bodies per forward. */
  maxBatch: number;
  /** Largest max_bytes a generation may ask for (and its default). */
  maxBytes: number;
  /** Time from a request's arrival to the end of its answer (504 past it). */
  timeLimitMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = { maxBody: 8 << 20, maxBodies: 64 << 20, maxQueue: 64, maxBatch: 16, maxBytes: 4096, timeLimitMs: 60_000 };

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Bearer token every route but /healthz requires. */
  token?: string;
  limits?: Partial<ServeLimits>;
  /** The generation decoder (default: the model's StreamBatch with room for maxBatch streams). */
  decoder?: StreamRunner;
}

type Result = Score | ClassProbs;
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, deadline: number) => Promise<void>;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class BgptServer {
  readonly limits: ServeLimits;
  readonly metrics: ServeMetrics;
  private http: Server;
  private scheduler: Scheduler<Result>;
  private routes: Record<string, { method: string; auth: boolean; run: Handler }>;
  private token: Buffer | null;
  private inflight = 0;
  private draining = false;
  private idle: (() => void) | null = null;
  private bodies: BodyBudget;
  /** Built on the first compression request (a second copy of the weights, laid out for exact kernels). */
  private exact: ExactBgpt | null = null;

  constructor(private loaded: LoadedModel, private opts: ServeOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.bodies = new BodyBudget(Math.max(this.limits.maxBodies, this.limits.maxBody));
    const cfg = loaded.config;
    this.token = opts.token ? sha256(opts.token) : null;
    const work = loaded.kind === 'generative'
      ? { decoder: opts.decoder ?? new BatchedStreams(loaded.model, this.limits.maxBatch), runFiles: (f: FileInput[]) => scoreFiles(loaded.model, f) }
      : { runFiles: (f: FileInput[]) => classifyFiles(loaded.model, loaded.task.labels, f) };
    this.scheduler = new Scheduler<Result>(
      { maxBatch: this.limits.maxBatch, maxQueue: this.limits.maxQueue, maxBatchPatches: Math.max(cfg.patchLength, Math.floor(16384 / cfg.patchSize)) },
      { ...work, patchesOf: (f) => inputPatches(cfg, f).length / cfg.patchSize },
      { batch: (kind, n) => this.metrics.batchSize(kind, n), generated: (n) => this.metrics.generated(n) },
    );
    this.metrics = new ServeMetrics(
      { task: loaded.kind, config: cfg, parameters: loaded.model.layout.count(), backend: loaded.model.k.name },
      { queued: () => this.scheduler.queued, active: () => this.scheduler.active },
    );
    this.routes = {
      '/healthz': { method: 'GET', auth: false, run: async (_q, res) => this.healthz(res) },
      '/metrics': { method: 'GET', auth: true, run: async (_q, res) => this.send(res, 200, await this.metrics.text(), this.metrics.contentType) },
      '/v1/score': { method: 'POST', auth: true, run: (q, res, url, d) => this.file(q, res, url, d, 'generative') },
      '/v1/classify': { method: 'POST', auth: true, run: (q, res, url, d) => this.file(q, res, url, d, 'classification') },
      '/v1/detect': { method: 'POST', auth: true, run: (q, res, url, d) => this.detect(q, res, url, d) },
      '/v1/generate': { method: 'POST', auth: true, run: (q, res, _u, d) => this.generate(q, res, d) },
      '/v1/compress': { method: 'POST', auth: true, run: (q, res, url, d) => this.compress(q, res, url, d) },
      '/v1/decompress': { method: 'POST', auth: true, run: (q, res, url, d) => this.decompress(q, res, url, d) },
    };
    this.http = createServer((req, res) => void this.handle(req, res));
    // slow senders count against the same time limit as slow answers
    this.http.requestTimeout = this.limits.timeLimitMs;
    this.http.headersTimeout = Math.min(this.limits.timeLimitMs, 60_000);
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port ?? 8080, this.opts.host ?? '127.0.0.1', () => resolve(this.http.address() as AddressInfo));
    });
  }

  /** Requests being answered. */
  get inFlight(): number {
    return this.inflight;
  }

  /**
   * Stops accepting, lets the requests in flight finish for up to `graceMs`, then fails what is left and
   * closes every connection.
   */
  async drain(graceMs: number): Promise<{ unfinished: number }> {
    this.draining = true;
    this.http.close();
    this.http.closeIdleConnections();
    let unfinished = 0;
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      unfinished = this.inflight;
      this.scheduler.abortAll(new HttpError(503, 'the server shut down before this request finished'));
    }
    await new Promise((r) => setImmediate(r));
    this.http.closeAllConnections();
    return { unfinished };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    let route = 'other';
    this.inflight++;
    res.on('close', () => {
      this.inflight--;
      this.metrics.request(route, res.statusCode, (performance.now() - t0) / 1000);
      if (this.inflight === 0) this.idle?.();
    });
    try {
      if (this.draining) throw new HttpError(503, 'the server is shutting down');
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new HttpError(400, 'malformed request target');
      }
      const r = this.routes[url.pathname];
      if (!r) throw new HttpError(404, `no route ${url.pathname.slice(0, 100)}`);
      route = url.pathname;
      if (req.method !== r.method) throw new HttpError(405, `${route} takes ${r.method}`, { Allow: r.method });
      if (r.auth && !this.authorized(req)) throw new HttpError(401, 'a valid bearer token is required', { 'WWW-Authenticate': 'Bearer' });
      await r.run(req, res, url, t0 + this.limits.timeLimitMs);
    } catch (e) {
      this.fail(res, e);
    }
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.token) return true;
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
    // equal-length digests: the comparison takes the same time whatever the token sent
    return timingSafeEqual(sha256(h.slice(7)), this.token);
  }

  private healthz(res: ServerResponse): void {
    this.json(res, 200, { status: 'ok', task: this.loaded.kind, queued: this.scheduler.queued, active: this.scheduler.active });
  }

  private needTask(task: LoadedModel['kind'], route: string): void {
    if (this.loaded.kind !== task) throw new HttpError(400, `${route} needs a ${task} model; this server runs a ${this.loaded.kind} one`);
  }

  /** Refuses before reading a body when nothing could take it. */
  private needRoom(): void {
    if (this.scheduler.queued >= this.limits.maxQueue) throw queueFull(this.limits.maxQueue);
  }

  /** The body, its bytes counted against the server's body budget until the response is done. */
  private body(req: IncomingMessage, res: ServerResponse, deadline: number): Promise<Buffer> {
    const taken = { bytes: 0 };
    res.on('close', () => this.bodies.give(taken.bytes));
    return withDeadline(readBody(req, this.limits.maxBody, this.bodies, taken), deadline, () => bodyLate(this.limits.timeLimitMs));
  }

  /** Runs `submit`, turning a full queue into 429. */
  private enqueue<T>(submit: () => T): T {
    try {
      return submit();
    } catch (e) {
      throw e instanceof QueueFull ? queueFull(this.limits.maxQueue) : e;
    }
  }

  private async file(req: IncomingMessage, res: ServerResponse, url: URL, deadline: number, task: LoadedModel['kind']): Promise<void> {
    this.needTask(task, url.pathname);
    const ext = extParam(url);
    this.needRoom();
    const bytes = await this.body(req, res, deadline);
    this.json(res, 200, await this.runFile(res, deadline, bytes.length, { bytes, ext }));
  }

  /** One body's turn in the batched score/classify forward; `received` is what the metrics count. */
  private async runFile(res: ServerResponse, deadline: number, received: number, input: FileInput): Promise<Result> {
    const job = this.enqueue(() => this.scheduler.runFile(input));
    res.on('close', job.cancel);
    const r = await withDeadline(job.result, deadline, () => overTime(this.limits.timeLimitMs), job.cancel);
    this.metrics.input(received);
    return r;
  }

  /** The body's content type (api/detect.ts): its head classified with no extension, batched with other bodies. */
  private async detect(req: IncomingMessage, res: ServerResponse, url: URL, deadline: number): Promise<void> {
    this.needTask('classification', url.pathname);
    const threshold = thresholdParam(url);
    this.needRoom();
    const bytes = await this.body(req, res, deadline);
    const head = bytes.subarray(0, detectHeadBytes(this.loaded.config));
    const r = (await this.runFile(res, deadline, bytes.length, { bytes: head, ext: '' })) as ClassProbs;
    const labels = this.loaded.kind === 'classification' ? this.loaded.task.labels : [];
    this.json(res, 200, detection(labels.map((l) => r.probs[l]), labels, head, { threshold }));
  }

  private async generate(req: IncomingMessage, res: ServerResponse, deadline: number): Promise<void> {
    this.needTask('generative', '/v1/generate');
    this.needRoom();
    const body = await this.body(req, res, deadline);
    const g = parseGenerate(body, this.limits, () => randomInt(0, 2 ** 32));
    const spec = this.streamSpec(g);
    const out: number[] = [];
    let ended = false;
    const close = (answer: () => void) => {
      ended = true;
      answer();
    };
    const sink: GenerateSink = {
      byte: (b) => {
        out.push(b);
        if (g.stream) res.write(`event: bytes\ndata: {"bytes_base64":"${Buffer.of(b).toString('base64')}"}\n\n`);
      },
      end: (stop) => close(() => {
        if (g.stream) res.end(`event: end\ndata: ${JSON.stringify(summary(out, stop))}\n\n`);
        else this.json(res, 200, { bytes_base64: Buffer.from(out).toString('base64'), ...summary(out, stop) });
      }),
      fail: (e) => close(() => this.fail(res, e)),
    };
    const ticket = this.enqueue(() => this.scheduler.generate(spec, sink));
    if (g.stream) res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', ...this.closing() });
    const timer = setTimeout(() => {
      ticket.cancel();
      sink.fail(overTime(this.limits.timeLimitMs));
    }, Math.max(0, deadline - performance.now()));
    res.on('close', () => {
      clearTimeout(timer);
      if (!ended) ticket.cancel();
    });
  }

  private codec(): ExactBgpt {
    if (this.loaded.kind !== 'generative') throw new Error('compression needs a generative model');
    return (this.exact ??= exactModel(this.loaded.model));
  }

  /**
   * Runs `work` alone in a scheduler turn. It cannot be interrupted from outside, so it is handed a
   * progress callback that throws once the deadline has passed.
   */
  private async alone<T>(res: ServerResponse, deadline: number, work: (onProgress: () => void) => T): Promise<T> {
    const late = () => overTime(this.limits.timeLimitMs);
    const onProgress = () => {
      if (performance.now() > deadline) throw late();
    };
    const job = this.enqueue(() => this.scheduler.runAlone(() => work(onProgress)));
    res.on('close', job.cancel);
    return withDeadline(job.result, deadline, late, job.cancel);
  }

  /** The body as a .bgpz file (lossless, docs/compression.md); `ext` is what the model is told the type is. */
  private async compress(req: IncomingMessage, res: ServerResponse, url: URL, deadline: number): Promise<void> {
    this.needTask('generative', url.pathname);
    const ext = extParam(url);
    this.needRoom();
    const bytes = await this.body(req, res, deadline);
    const out = await this.alone(res, deadline, (onProgress) => compressBytes(this.codec(), bytes, ext, { onProgress }));
    this.metrics.input(bytes.length);
    this.send(res, 200, out, 'application/octet-stream');
  }

  /** A .bgpz body made with this model → the original bytes; the stored extension in `Bgpt-Ext`. */
  private async decompress(req: IncomingMessage, res: ServerResponse, url: URL, deadline: number): Promise<void> {
    this.needTask('generative', url.pathname);
    noQuery(url);
    this.needRoom();
    const buf = await this.body(req, res, deadline);
    let length: number;
    try {
      length = readHeader(new Reader(buf)).length;
    } catch (e) {
      throw new HttpError(400, `not a .bgpz file: ${(e as Error).message}`);
    }
    if (length > this.limits.maxBody) throw new HttpError(413, `the decompressed file would be ${length} bytes, over the limit of ${this.limits.maxBody}`);
    const r = await this.alone(res, deadline, (onProgress) => {
      try {
        return decompressBytes(this.codec(), buf, { onProgress });
      } catch (e) {
        throw e instanceof HttpError ? e : new HttpError(400, `cannot decompress: ${(e as Error).message}`);
      }
    });
    this.send(res, 200, r.bytes, 'application/octet-stream', { 'Bgpt-Ext': encodeURIComponent(r.ext) });
  }

  /** The prompt as the decoder takes it: header patch and whole patches, then the bytes of a partial patch. */
  private streamSpec(g: GenerateRequest): StreamSpec {
    const { patchSize: S, patchLength: L } = this.loaded.config;
    const whole = Math.floor(g.prompt.length / S) * S;
    const context = new Int32Array(S + whole);
    context.set(headerPatch(g.ext, S));
    context.set(g.prompt.subarray(0, whole), S);
    if (context.length / S >= L) throw new HttpError(400, `a prompt of ${g.prompt.length} bytes leaves no room to generate within the model's ${L} patches`);
    return { context, partial: g.prompt.subarray(whole), sampling: g.sampling, seed: g.seed, maxBytes: g.maxBytes };
  }

  private closing(): Record<string, string> {
    return this.draining ? { Connection: 'close' } : {};
  }

  private send(res: ServerResponse, status: number, body: string | Uint8Array, type: string, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers, ...this.closing() }).end(body);
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.send(res, status, `${JSON.stringify(body)}\n`, 'application/json', headers);
  }

  /** One JSON line for any failure; a stream already under way gets an `error` event instead. */
  private fail(res: ServerResponse, e: unknown): void {
    const err = e instanceof HttpError ? e : new HttpError(500, (e as Error)?.message ?? String(e));
    const message = err.message.replace(/\s+/g, ' ');
    if (res.writableEnded || res.destroyed) return;
    if (res.headersSent) {
      res.end(`event: error\ndata: ${JSON.stringify({ error: message, status: err.status })}\n\n`);
      return;
    }
    // a body left unread (413) is not drained: the connection closes after the answer
    const close: Record<string, string> = err.status === 413 ? { Connection: 'close' } : {};
    this.json(res, err.status, { error: message }, { ...err.headers, ...close });
  }
}

function summary(out: number[], stop: StopReason): { bytes: number; stop: StopReason } {
  return { bytes: out.length, stop };
}

function queueFull(max: number): HttpError {
  return new HttpError(429, `the queue is full (${max} requests waiting); retry later`, { 'Retry-After': '1' });
}

function overTime(ms: number): HttpError {
  return new HttpError(504, `the request ran past the time limit of ${ms / 1000} s`);
}

/** A client too slow to send its body within the time limit: 408, the client's delay. */
function bodyLate(ms: number): HttpError {
  return new HttpError(408, `the request body did not arrive within the time limit of ${ms / 1000} s`);
}

/** The promise, or `late()` as the error at the deadline (after `onTimeout`, e.g. leaving the queue). */
function withDeadline<T>(p: Promise<T>, deadline: number, late: () => HttpError, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(late());
    }, Math.max(0, deadline - performance.now()));
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
