/** The server's Prometheus metrics (one registry per server, so several servers in a process stay apart). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BgptConfig } from '../model/config.js';

/** Bytes generated per second over the last RATE_WINDOW seconds (one bucket per second). */
const RATE_WINDOW = 10;

export class ServeMetrics {
  readonly registry = new Registry();
  private requests = new Counter({ name: 'bgpt_requests_total', help: 'Requests by route and status', labelNames: ['route', 'status'] as const, registers: [this.registry] });
  private latency = new Histogram({
    name: 'bgpt_request_duration_seconds', help: 'Time from request to the end of the response, by route', labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry],
  });
  private generatedTotal = new Counter({ name: 'bgpt_generated_bytes_total', help: 'Bytes generated', registers: [this.registry] });
  private inputTotal = new Counter({ name: 'bgpt_input_bytes_total', help: 'Bytes scored or classified', registers: [this.registry] });
  private batch = new Histogram({
    name: 'bgpt_batch_size', help: 'Streams per decoding step (generate) and bodies per forward (files)', labelNames: ['kind'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64], registers: [this.registry],
  });
  private buckets = new Float64Array(RATE_WINDOW);
  private bucketSecond = 0;

  constructor(info: { task: string; config: BgptConfig; parameters: number; backend: string }, gauges: { queued: () => number; active: () => number }) {
    const r = [this.registry];
    new Gauge({ name: 'bgpt_queue_depth', help: 'Requests not yet answered (bodies, compression) or not yet decoding (generation)', registers: r, collect() { this.set(gauges.queued()); } });
    new Gauge({ name: 'bgpt_active_streams', help: 'Generation streams in the decoding batch', registers: r, collect() { this.set(gauges.active()); } });
    const self = this;
    new Gauge({ name: 'bgpt_generated_bytes_per_second', help: `Bytes generated per second over the last ${RATE_WINDOW} s`, registers: r, collect() { this.set(self.rate()); } });
    const c = info.config;
    const labels = { task: info.task, backend: info.backend, patch_size: String(c.patchSize), patch_length: String(c.patchLength), hidden: String(c.hidden), patch_layers: String(c.patchLayers), byte_layers: String(c.byteLayers), parameters: String(info.parameters) };
    new Gauge({ name: 'bgpt_model_info', help: 'The served model (value 1)', labelNames: Object.keys(labels), registers: r }).set(labels, 1);
    collectDefaultMetrics({ register: this.registry });
  }

  request(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  batchSize(kind: 'generate' | 'files', n: number): void {
    this.batch.observe({ kind }, n);
  }

  input(bytes: number): void {
    this.inputTotal.inc(bytes);
  }

  generated(bytes: number): void {
    if (!bytes) return;
    this.generatedTotal.inc(bytes);
    this.roll();
    this.buckets[this.bucketSecond % RATE_WINDOW] += bytes;
  }

  /** Clears the buckets of the seconds that passed without bytes. */
  private roll(): void {
    const now = Math.floor(performance.now() / 1000);
    for (let s = Math.max(this.bucketSecond + 1, now - RATE_WINDOW + 1); s <= now; s++) this.buckets[s % RATE_WINDOW] = 0;
    this.bucketSecond = Math.max(this.bucketSecond, now);
  }

  private rate(): number {
    this.roll();
    let sum = 0;
    for (const b of this.buckets) sum += b;
    return sum / RATE_WINDOW;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
