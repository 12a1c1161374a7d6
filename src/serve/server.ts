/**
 * The HTTP server of `bgpt serve` (node:http). Routes: POST /v1/score, /v1/classify, /v1/detect, /v1/generate,
 * /v1/compress, /v1/decompress; GET /healthz, /metrics. The model is fixed at start; requests carry only data.
 * The model lives in a compute worker (compute.ts) that runs the scheduler's batch turns; this thread reads
 * bodies, keeps the limits and answers, so /healthz and /metrics answer while a long forward runs.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getKernels } from '../backend/index.js';
import { headerPatch } from '../data/patches.js';
import type { LoadedModel, Precision } from '../io/weights.js';
import { Reader, readHeader } from '../compress/container.js';
import type { ModelKind } from '../model/task.js';
import type { StopReason } from '../api/generate.js';
import type { StreamSpec } from './decoder.js';
import { ComputeWorker } from './compute.js';
import type { ClassProbs, FileInput, Score } from './files.js';
import { ServeMetrics } from './metrics.js';
import type { AloneSpec, ModelInfo, WorkerInit } from './protocol.js';
import { BodyBudget, HttpError, extParam, noQuery, parseGenerate, readBody, thresholdParam, type GenerateRequest } from './request.js';
import { detectInput, detection } from '../api/detect.js';
import type { GenerateSink } from './scheduler.js';

export interface ServeLimits {
  /** Largest request body in bytes (413 past it). */
  maxBody: number;
  /** Bytes of request bodies held at once over all requests (503 past it; at least maxBody). */
  maxBodies: number;
  /** Most requests queued or computing, a generation until it starts decoding (429 past it). */
  maxQueue: number;
  /** Most generation streams decoded together and most bodies per forward. */
  maxBatch: number;
  /** Largest max_bytes a generation may ask for (and its default). */
  maxBytes: number;
  /** Time from a request's arrival to the end of its answer (504 past it). */
  timeLimitMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = { maxBody: 8 << 20, maxBodies: 64 << 20, maxQueue: 64, maxBatch: 16, maxBytes: 4096, timeLimitMs: 60_000 };

/** The model to serve: one already loaded (its tensors are copied to the worker), or a file the worker reads. */
export type ServeModel = LoadedModel | { path: string; precision?: Precision | 'auto' };

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Bearer token every route but /healthz requires. */
  token?: string;
  limits?: Partial<ServeLimits>;
  /**
   * A module (URL) whose `createDecoder(model, capacity)` makes the generation decoder, in the worker
   * (default: the model's StreamBatch with room for maxBatch streams).
   */
  decoderModule?: string;
  /** Called if the compute worker dies: every request then fails, /healthz answers 503. */
  onWorkerExit?: (e: Error) => void;
}

type Result = Score | ClassProbs;
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, deadline: number) => Promise<void>;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class BgptServer {
  readonly limits: ServeLimits;
  /** Set by listen(), once the worker has loaded the model. */
  metrics!: ServeMetrics;
  private info!: ModelInfo;
  private compute!: ComputeWorker;
  private failure: Error | null = null;
  private http: Server;
  private routes: Record<string, { method: string; auth: boolean; run: Handler }>;
  private token: Buffer | null;
  private inflight = 0;
  private draining = false;
  private idle: (() => void) | null = null;
  private bodies: BodyBudget;

  constructor(private source: ServeModel, private opts: ServeOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.bodies = new BodyBudget(Math.max(this.limits.maxBodies, this.limits.maxBody));
    this.token = opts.token ? sha256(opts.token) : null;
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

  /** Starts the compute worker (the model's loading errors reject here), then listens. */
  async listen(): Promise<AddressInfo> {
    this.compute = await ComputeWorker.start(this.workerInit(), {
      batch: (kind, n) => this.metrics.batchSize(kind, n),
      generated: (n) => this.metrics.generated(n),
      died: (e) => {
        this.failure = e;
        this.opts.onWorkerExit?.(e);
      },
    });
    this.info = this.compute.info;
    const { kind, config, parameters, backend } = this.info;
    this.metrics = new ServeMetrics({ task: kind, config, parameters, backend }, { queued: () => this.compute.queued, active: () => this.compute.active });
    return new Promise((resolve, reject) => {
      this.http.once('error', (e) => {
        // a port taken: the worker and its model go too
        void this.compute.close();
        reject(e);
      });
      this.http.listen(this.opts.port ?? 8080, this.opts.host ?? '127.0.0.1', () => resolve(this.http.address() as AddressInfo));
    });
  }

  private workerInit(): WorkerInit {
    const src = this.source, maxBatch = this.limits.maxBatch, decoderModule = this.opts.decoderModule;
    if ('path' in src) return { model: { path: src.path, precision: src.precision }, backend: getKernels().name, maxBatch, decoderModule };
    const p = src.model.params, half = p.half ? { dtype: p.half.dtype, data: p.half.data, bf16Activations: p.half.bf16Activations } : undefined;
    return { model: { config: src.config, task: src.task, params: p.data, half }, backend: src.model.k.name, maxBatch, decoderModule };
  }

  /** The served model (after listen()). */
  get model(): ModelInfo {
    return this.info;
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
      this.compute.abortAll(new HttpError(503, 'the server shut down before this request finished'));
    }
    await new Promise((r) => setImmediate(r));
    this.http.closeAllConnections();
    await this.compute.close();
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
    const { queued, active } = this.compute;
    if (this.failure) this.json(res, 503, { status: 'failed', error: this.failure.message });
    else this.json(res, 200, { status: 'ok', task: this.info.kind, queued, active });
  }

  private needTask(task: ModelKind, route: string): void {
    if (this.info.kind !== task) throw new HttpError(400, `${route} needs a ${task} model; this server runs a ${this.info.kind} one`);
  }

  /** Refuses before reading a body when nothing could take it. */
  private needRoom(): void {
    if (this.compute.queued >= this.limits.maxQueue) throw queueFull(this.limits.maxQueue);
  }

  /** The body, its bytes counted against the server's body budget until the response is done. */
  private body(req: IncomingMessage, res: ServerResponse, deadline: number): Promise<Buffer> {
    const taken = { bytes: 0 };
    res.on('close', () => this.bodies.give(taken.bytes));
    return withDeadline(readBody(req, this.limits.maxBody, this.bodies, taken), deadline, () => bodyLate(this.limits.timeLimitMs));
  }

  /** Runs `submit` if the queue has room (429 if not). */
  private enqueue<T>(submit: () => T): T {
    this.needRoom();
    return submit();
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
    const job = this.enqueue(() => this.compute.runFile<Result>(input));
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
    const task = this.info.task, input = detectInput(bytes, this.info.config, task.kind === 'classification' ? task.reads : 'head');
    const r = (await this.runFile(res, deadline, bytes.length, { bytes: input, ext: '' })) as ClassProbs;
    const labels = task.kind === 'classification' ? task.labels : [];
    this.json(res, 200, detection(labels.map((l) => r.probs[l]), labels, input, { threshold }));
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
    const ticket = this.enqueue(() => this.compute.generate(spec, sink));
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

  /**
   * Runs `job` alone in a scheduler turn. It cannot be interrupted from outside, so the worker stops it at
   * its next progress report past the deadline.
   */
  private async alone<T>(res: ServerResponse, deadline: number, job: AloneSpec): Promise<T> {
    const ticket = this.enqueue(() => this.compute.runAlone<T>(job, deadline - performance.now()));
    res.on('close', ticket.cancel);
    return withDeadline(ticket.result, deadline, () => overTime(this.limits.timeLimitMs), ticket.cancel);
  }

  /** The body as a .bgpz file (lossless, docs/compression.md); `ext` is what the model is told the type is. */
  private async compress(req: IncomingMessage, res: ServerResponse, url: URL, deadline: number): Promise<void> {
    this.needTask('generative', url.pathname);
    const ext = extParam(url);
    this.needRoom();
    const bytes = await this.body(req, res, deadline), received = bytes.length;
    const out = await this.alone<Uint8Array>(res, deadline, { op: 'compress', bytes, ext });
    this.metrics.input(received);
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
    const r = await this.alone<{ bytes: Uint8Array; ext: string }>(res, deadline, { op: 'decompress', bytes: buf });
    this.send(res, 200, r.bytes, 'application/octet-stream', { 'Bgpt-Ext': encodeURIComponent(r.ext) });
  }

  /** The prompt as the decoder takes it: header patch and whole patches, then the bytes of a partial patch. */
  private streamSpec(g: GenerateRequest): StreamSpec {
    const { patchSize: S, patchLength: L } = this.info.config;
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
