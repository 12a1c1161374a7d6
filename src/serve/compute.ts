/**
 * The HTTP thread's side of the compute worker (protocol.ts, worker.ts): the scheduler's calls, answered by
 * messages. It counts what waits and what decodes itself, so the queue limit, /healthz and /metrics never
 * wait for the worker; if the worker dies, everything in flight fails with one clear error.
 */
import { Worker } from 'node:worker_threads';
import type { StreamSpec } from './decoder.js';
import type { FileInput } from './files.js';
import { fillsBuffer, type AloneSpec, type FromWorker, type ModelInfo, type ToWorker, type WireError, type WorkerEvent, type WorkerInit } from './protocol.js';
import { HttpError } from './request.js';
import type { GenerateSink, SchedulerObserver } from './scheduler.js';

const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

function spawn(init: WorkerInit): Worker {
  if (!ENTRY.pathname.endsWith('.ts')) return new Worker(ENTRY, { workerData: init });
  // run from the TypeScript sources (the tests): Node 20 does not hand the tsx loader to workers
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(ENTRY.href)}); })`, { eval: true, workerData: init });
}

type Job =
  | { kind: 'result'; resolve(v: unknown): void; reject(e: Error): void }
  | { kind: 'stream'; sink: GenerateSink; joined: boolean };

function errorOf(w: WireError): Error {
  return w.status ? new HttpError(w.status, w.message, w.headers) : new Error(w.message);
}

/**
 * The bytes in a buffer of their own, which then moves to the worker instead of being copied (a view would
 * take its whole buffer along: a pooled one, or the body a prompt was cut from).
 */
function own(b: Uint8Array): Uint8Array {
  return fillsBuffer(b) ? b : new Uint8Array(b);
}

export interface ComputeObserver extends SchedulerObserver {
  /** The worker stopped on its own: the server can no longer answer. */
  died(e: Error): void;
}

export class ComputeWorker {
  private jobs = new Map<number, Job>();
  private next = 1;
  private waiting = 0;
  private decoding = 0;
  private dead: Error | null = null;
  private closing = false;

  private constructor(private worker: Worker, readonly info: ModelInfo, private observe: ComputeObserver) {
    worker.on('message', (m: FromWorker) => m.t === 'events' && this.events(m.events));
    worker.on('error', (e) => (this.dead ??= e));
    worker.on('exit', (code) => {
      if (this.closing) return;
      const e = new HttpError(500, `the compute worker stopped (${this.dead?.message ?? `exit code ${code}`})`);
      this.dead = e;
      this.abortAll(e);
      observe.died(e);
    });
  }

  /** Starts the worker; resolves once its model is loaded (rejects with the loading error). */
  static start(init: WorkerInit, observe: ComputeObserver): Promise<ComputeWorker> {
    const w = spawn(init);
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => {
        void w.terminate();
        reject(e);
      };
      w.once('error', fail);
      w.once('exit', (code) => reject(new Error(`the compute worker exited (code ${code}) before its model was loaded`)));
      w.once('message', (m: FromWorker) => {
        w.off('error', fail);
        if (m.t === 'ready') {
          // the HTTP server keeps the process alive while it listens; the worker alone must not
          w.unref();
          resolve(new ComputeWorker(w, m.info, observe));
        } else fail(m.t === 'failed' ? errorOf(m.error) : new Error('the compute worker spoke before it was ready'));
      });
    });
  }

  /** Requests sent and not yet answered (bodies, compression) or not yet decoding (generation). */
  get queued(): number {
    return this.waiting;
  }

  /** Streams in the decoding batch. */
  get active(): number {
    return this.decoding;
  }

  /** Scores or classifies one body. Bytes that fill their buffer move to the worker: do not use them after. */
  runFile<R>(input: FileInput): { result: Promise<R>; cancel(): void } {
    const bytes = own(input.bytes);
    return this.result<R>((key) => this.post({ t: 'file', key, input: { ...input, bytes } }, [bytes.buffer as ArrayBuffer]));
  }

  /** Compresses or decompresses alone in a turn (bytes as runFile's); `ms`: time before the request's deadline. */
  runAlone<R>(job: AloneSpec, ms: number): { result: Promise<R>; cancel(): void } {
    const bytes = own(job.bytes);
    return this.result<R>((key) => this.post({ t: 'alone', key, job: { ...job, bytes }, ms }, [bytes.buffer as ArrayBuffer]));
  }

  generate(spec: StreamSpec, sink: GenerateSink): { cancel(): void } {
    const key = this.open({ kind: 'stream', sink, joined: false });
    this.post({ t: 'generate', key, spec: { ...spec, partial: own(spec.partial) } });
    return { cancel: () => this.cancel(key) };
  }

  /** Fails everything in flight with `e` (shutdown after the grace period, or the worker's death). */
  abortAll(e: Error): void {
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    this.waiting = this.decoding = 0;
    for (const j of jobs) guard(() => (j.kind === 'result' ? j.reject(e) : j.sink.fail(e)));
    if (!this.dead) this.post({ t: 'abort', error: { message: e.message, status: e instanceof HttpError ? e.status : undefined } });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private result<R>(send: (key: number) => void): { result: Promise<R>; cancel(): void } {
    let key = 0;
    const result = new Promise<R>((resolve, reject) => {
      key = this.open({ kind: 'result', resolve: resolve as (v: unknown) => void, reject });
    });
    send(key);
    return { result, cancel: () => this.cancel(key) };
  }

  private open(job: Job): number {
    if (this.dead) throw new HttpError(503, `the server cannot compute: ${this.dead.message}`);
    const key = this.next++;
    this.jobs.set(key, job);
    this.waiting++;
    return key;
  }

  private post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  /** Forgets a job (its client left or ran out of time) and tells the worker to drop it. */
  private cancel(key: number): void {
    if (this.forget(key)) this.post({ t: 'cancel', key });
  }

  /** Removes a job from the books; false when it was already gone. */
  private forget(key: number): Job | undefined {
    const j = this.jobs.get(key);
    if (!j) return undefined;
    this.jobs.delete(key);
    if (j.kind === 'stream' && j.joined) this.decoding--;
    else this.waiting--;
    return j;
  }

  private events(events: WorkerEvent[]): void {
    for (const e of events) {
      if (e.t === 'batch') this.observe.batch(e.kind, e.n);
      else if (e.t === 'generated') this.observe.generated(e.n);
      else if (e.t === 'joined') {
        const j = this.jobs.get(e.key);
        if (j?.kind !== 'stream' || j.joined) continue;
        j.joined = true;
        this.waiting--;
        this.decoding++;
      } else if (e.t === 'byte') {
        const j = this.jobs.get(e.key);
        if (j?.kind === 'stream') guard(() => j.sink.byte(e.byte));
      } else {
        const j = this.forget(e.key);
        if (!j) continue;
        if (e.t === 'done') guard(() => j.kind === 'result' && j.resolve(e.value));
        else if (e.t === 'end') guard(() => j.kind === 'stream' && j.sink.end(e.stop));
        else {
          const err = errorOf(e.error);
          guard(() => (j.kind === 'result' ? j.reject(err) : j.sink.fail(err)));
        }
      }
    }
  }
}

/** One request's failing handler must not stop the others' events. */
function guard(f: () => void): void {
  try {
    f();
  } catch {
    // that request's own handlers close it
  }
}
