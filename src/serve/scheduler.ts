/**
 * Continuous batching. One loop, run between network events (setImmediate), does per turn: one forward
 * over queued score/classify bodies (as many as fit the batch), admits waiting generation streams into
 * the decoder, and one decoder step for every joined stream. A stream therefore joins at the next step and
 * leaves the step it ends; nothing waits for a batch to fill. Work beyond the queue limit is refused.
 */
import type { StopReason } from '../tasks/generate.js';
import type { StreamDecoder, StreamSpec } from './decoder.js';
import type { FileInput } from './files.js';

export interface GenerateSink {
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

interface StreamJob {
  spec: StreamSpec;
  sink: GenerateSink;
  id: number;
  done: boolean;
}

export class Scheduler<R> {
  private files: FileJob<R>[] = [];
  private waiting: StreamJob[] = [];
  private streams = new Map<number, StreamJob>();
  private scheduled = false;

  constructor(
    private limits: SchedulerLimits,
    private work: { decoder?: StreamDecoder; runFiles?: (files: FileInput[]) => R[]; patchesOf: (f: FileInput) => number },
    private observe?: SchedulerObserver,
  ) {}

  /** Requests waiting to start. */
  get queued(): number {
    return this.files.length + this.waiting.length;
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
    return {
      result,
      cancel: () => {
        if (job.done) return;
        job.done = true;
        const i = this.files.indexOf(job);
        if (i >= 0) this.files.splice(i, 1);
      },
    };
  }

  /** Starts a generation stream; `cancel` makes it leave the queue or the batch. */
  generate(spec: StreamSpec, sink: GenerateSink): { cancel(): void } {
    if (!this.work.decoder) throw new Error('this model cannot generate');
    this.admitCheck();
    const job: StreamJob = { spec, sink, id: 0, done: false };
    this.waiting.push(job);
    this.kick();
    return {
      cancel: () => {
        if (job.done) return;
        job.done = true;
        const i = this.waiting.indexOf(job);
        if (i >= 0) this.waiting.splice(i, 1);
        else if (this.streams.delete(job.id)) this.work.decoder!.leave(job.id);
      },
    };
  }

  /** Fails everything queued or running (shutdown after the grace period). */
  abortAll(e: Error): void {
    for (const f of this.files.splice(0)) settle(f, () => f.reject(e));
    for (const s of [...this.waiting.splice(0), ...this.streams.values()]) {
      if (s.id) this.work.decoder!.leave(s.id);
      finish(s, () => s.sink.fail(e));
    }
    this.streams.clear();
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    this.runFileBatch();
    this.admitStreams();
    this.stepStreams();
    if (this.files.length || this.waiting.length || this.streams.size) this.kick();
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

  private admitStreams(): void {
    const decoder = this.work.decoder;
    while (decoder && this.waiting.length && decoder.size < this.limits.maxBatch) {
      const job = this.waiting.shift()!;
      try {
        job.id = decoder.join(job.spec);
        this.streams.set(job.id, job);
      } catch (e) {
        finish(job, () => job.sink.fail(e as Error));
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
        decoder.leave(s.id);
        finish(s, () => s.sink.fail(e as Error));
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
        finish(job, () => job.sink.end(o.stop!));
      }
    }
    this.observe?.generated(bytes);
  }
}

/** A sink's failure must not stop the loop that serves everyone else. */
function guard(f: () => void): void {
  try {
    f();
  } catch {
    // the sink's own request is the only one affected; it is closed by its own handlers
  }
}

function settle<R>(j: FileJob<R>, f: () => void): void {
  if (j.done) return;
  j.done = true;
  guard(f);
}

function finish(s: StreamJob, f: () => void): void {
  if (s.done) return;
  s.done = true;
  guard(f);
}
