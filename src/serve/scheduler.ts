/**
 * Continuous batching. One loop, run between network events (setImmediate), does per turn: one forward
 * over queued score/classify bodies (as many as fit the batch), one job that runs alone (compression),
 * admits waiting generation streams into the decoder, and one decoder step for every joined stream. A
 * stream joins at the next step at which the batch starts new patches (the decoder's `inPhase`: at once into
 * an empty batch, else at most a patch's bytes of steps away) and leaves the step it ends; nothing waits for
 * a batch to fill. Work beyond the queue limit is refused.
 */
import type { StopReason } from '../api/generate.js';
import type { StreamRunner, StreamSpec } from './decoder.js';
import type { FileInput } from './files.js';

export interface GenerateSink {
  /** The stream left the queue for the decoding batch. */
  joined?(): void;
  byte(b: number): void;
  end(stop: StopReason): void;
  fail(e: Error): void;
}

export interface SchedulerLimits {
  /** Most streams decoded together and most bodies in one forward. */
  maxBatch: number;
  /** Most padded patches in one score/classify forward (at least one body always runs). */
  maxBatchPatches: number;
  /** Most requests waiting to start. */
  maxQueue: number;
}

export interface SchedulerObserver {
  batch(kind: 'generate' | 'files', size: number): void;
  generated(bytes: number): void;
}

/** The queue is full: the caller answers 429. */
export class QueueFull extends Error {}

interface FileJob<R> {
  input: FileInput;
  patches: number;
  resolve(r: R): void;
  reject(e: Error): void;
  done: boolean;
}

interface AloneJob {
  work: () => unknown;
  resolve(r: unknown): void;
  reject(e: Error): void;
  done: boolean;
}

interface StreamJob {
  spec: StreamSpec;
  sink: GenerateSink;
  /** The decoder's id once joined. */
  id: number | null;
  done: boolean;
}

export class Scheduler<R> {
  private files: FileJob<R>[] = [];
  private alone: AloneJob[] = [];
  private waiting: StreamJob[] = [];
  private streams = new Map<number, StreamJob>();
  private scheduled = false;

  constructor(
    private limits: SchedulerLimits,
    private work: { decoder?: StreamRunner; runFiles?: (files: FileInput[]) => R[]; patchesOf: (f: FileInput) => number },
    private observe?: SchedulerObserver,
  ) {}

  /** Requests waiting to start. */
  get queued(): number {
    return this.files.length + this.alone.length + this.waiting.length;
  }

  /** Streams being decoded. */
  get active(): number {
    return this.streams.size;
  }

  private admitCheck(): void {
    if (this.queued >= this.limits.maxQueue) throw new QueueFull();
  }

  /** Scores or classifies one body in the next batch; `cancel` drops it if it has not run yet. */
  runFile(input: FileInput): { result: Promise<R>; cancel(): void } {
    if (!this.work.runFiles) throw new Error('this model cannot score or classify');
    this.admitCheck();
    let job!: FileJob<R>;
    const result = new Promise<R>((resolve, reject) => {
      job = { input, patches: this.work.patchesOf(input), resolve, reject, done: false };
    });
    this.files.push(job);
    this.kick();
    return { result, cancel: () => dequeue(this.files, job) };
  }

  /** Runs `work` by itself in a later turn; `cancel` drops it if it has not started. */
  runAlone<T>(work: () => T): { result: Promise<T>; cancel(): void } {
    this.admitCheck();
    let job!: AloneJob;
    const result = new Promise<T>((resolve, reject) => {
      job = { work, resolve: resolve as (r: unknown) => void, reject, done: false };
    });
    this.alone.push(job);
    this.kick();
    return { result, cancel: () => dequeue(this.alone, job) };
  }

  /** Starts a generation stream; `cancel` makes it leave the queue or the batch. */
  generate(spec: StreamSpec, sink: GenerateSink): { cancel(): void } {
    if (!this.work.decoder) throw new Error('this model cannot generate');
    this.admitCheck();
    const job: StreamJob = { spec, sink, id: null, done: false };
    this.waiting.push(job);
    this.kick();
    return {
      cancel: () => {
        if (job.done) return;
        dequeue(this.waiting, job);
        if (job.id !== null && this.streams.delete(job.id)) this.leave(job.id);
      },
    };
  }

  /** Fails everything queued or running (shutdown after the grace period). */
  abortAll(e: Error): void {
    for (const f of [...this.files.splice(0), ...this.alone.splice(0)]) settle(f, () => f.reject(e));
    for (const s of [...this.waiting.splice(0), ...this.streams.values()]) {
      if (s.id !== null) this.leave(s.id);
      settle(s, () => s.sink.fail(e));
    }
    this.streams.clear();
  }

  /** A stream leaves the decoder; a decoder that no longer knows it must not stop the loop. */
  private leave(id: number): void {
    guard(() => this.work.decoder!.leave(id));
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    this.runFileBatch();
    this.runAloneJob();
    this.admitStreams();
    this.stepStreams();
    if (this.queued || this.streams.size) this.kick();
  }

  private runFileBatch(): void {
    if (!this.files.length) return;
    // a prefix of the queue (first come, first served) whose padded size fits the budget
    let n = 1, widest = this.files[0].patches;
    while (n < this.files.length && n < this.limits.maxBatch) {
      const w = Math.max(widest, this.files[n].patches);
      if ((n + 1) * w > this.limits.maxBatchPatches) break;
      widest = w;
      n++;
    }
    const batch = this.files.splice(0, n);
    this.observe?.batch('files', n);
    let results: R[];
    try {
      results = this.work.runFiles!(batch.map((j) => j.input));
    } catch (e) {
      for (const j of batch) settle(j, () => j.reject(e as Error));
      return;
    }
    batch.forEach((j, i) => settle(j, () => j.resolve(results[i])));
  }

  private runAloneJob(): void {
    const job = this.alone.shift();
    if (!job) return;
    try {
      const r = job.work();
      settle(job, () => job.resolve(r));
    } catch (e) {
      settle(job, () => job.reject(e as Error));
    }
  }

  private admitStreams(): void {
    const decoder = this.work.decoder;
    while (decoder && this.waiting.length && decoder.size < this.limits.maxBatch && decoder.inPhase !== false) {
      const job = this.waiting.shift()!;
      try {
        const id = decoder.join(job.spec);
        job.id = id;
        this.streams.set(id, job);
        guard(() => job.sink.joined?.());
      } catch (e) {
        settle(job, () => job.sink.fail(e as Error));
      }
    }
  }

  private stepStreams(): void {
    const decoder = this.work.decoder;
    if (!decoder || !decoder.size) return;
    this.observe?.batch('generate', decoder.size);
    let outs;
    try {
      outs = decoder.step();
    } catch (e) {
      for (const s of this.streams.values()) {
        this.leave(s.id!);
        settle(s, () => s.sink.fail(e as Error));
      }
      this.streams.clear();
      return;
    }
    let bytes = 0;
    for (const o of outs) {
      const job = this.streams.get(o.id);
      if (!job) continue;
      if (o.byte !== undefined) {
        bytes++;
        guard(() => job.sink.byte(o.byte!));
      }
      if (o.stop) {
        this.streams.delete(o.id);
        settle(job, () => job.sink.end(o.stop!));
      }
    }
    this.observe?.generated(bytes);
  }
}

/** A sink's (or a leaving stream's) failure must not stop the loop that serves everyone else. */
function guard(f: () => void): void {
  try {
    f();
  } catch {
    // the sink's own request is the only one affected; it is closed by its own handlers
  }
}

function settle(j: { done: boolean }, f: () => void): void {
  if (j.done) return;
  j.done = true;
  guard(f);
}

/** Takes a job that has not run out of its queue. */
function dequeue<J extends { done: boolean }>(queue: J[], job: J): void {
  if (job.done) return;
  job.done = true;
  const i = queue.indexOf(job);
  if (i >= 0) queue.splice(i, 1);
}
