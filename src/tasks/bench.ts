/**
 * Throughput at three model sizes (configs a, b, c with their batch sizes; random bytes filling the whole
 * context): a training step (forward, backward, AdamW), a forward, and generation. python/bgpt_torch.py
 * `bench` times PyTorch at the same shapes.
 */
import { bf16Products } from '../backend/bf16.js';
import type { HalfType, Kernels } from '../backend/types.js';
import { halfParams, type Precision } from '../io/weights.js';
import { BgptModel, type Batch } from '../model/bgpt.js';
import { defaultHeads, type BgptConfig } from '../model/config.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../util/rng.js';
import { cpuTimes, stealShare } from '../util/steal.js';
import { headerPatch } from '../data/patches.js';
import { SAMPLING_DEFAULTS } from '../model/sampling.js';
import { continueMany } from '../api/generate.js';
import { decodeWeightBytes, MatmulRateProbe, measureMatmulRate, measureReadRate, peakRssMiB, trainFlops, type MatmulRate } from './flops.js';

export const BENCH_CONFIGS: Record<string, { cfg: BgptConfig; batch: number }> = {
  a: { cfg: cfgOf(128, 2, 1, 16, 64), batch: 8 },
  b: { cfg: cfgOf(256, 4, 2, 16, 256), batch: 4 },
  c: { cfg: cfgOf(768, 12, 3, 16, 512), batch: 1 },
};

function cfgOf(hidden: number, patchLayers: number, byteLayers: number, patchSize: number, patchLength: number): BgptConfig {
  return { hidden, patchLayers, byteLayers, patchSize, patchLength, heads: defaultHeads(hidden) };
}

export type BenchWhat = 'train' | 'fwd' | 'gen' | 'peak';

export interface BenchRecord {
  config: string;
  what: BenchWhat;
  backend: string;
  threads: number;
  bytes_per_s: number;
  median_s: number;
  /** [min, max] of the timed steps. */
  spread_s: [number, number];
  steps: number;
  step_s: number[];
  bytes_per_step: number;
  params: number;
  [extra: string]: unknown;
}

function randomBatch(c: BgptConfig, B: number, rng: Rng): Batch {
  const N = c.patchLength, tokens = new Int32Array(B * N * c.patchSize);
  for (let i = 0; i < tokens.length; i++) tokens[i] = rng.int(256);
  return { tokens, masks: new Uint8Array(B * N).fill(1), B, N };
}

/** Seconds of each of `steps` timed calls of fn, after `warmup` untimed ones; `between` runs untimed before each. */
function timeSteps(fn: () => void, steps: number, warmup: number, between?: () => void): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < steps; i++) {
    between?.();
    const t0 = performance.now();
    fn();
    t.push((performance.now() - t0) / 1000);
  }
  return t;
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

export interface BenchOptions {
  steps?: number;
  warmup?: number;
  genBytes?: number;
  /** gen: streams decoded together as one batch (bytes_per_s is their aggregate). */
  streams?: number;
  /** A loaded model to time instead of a random one of the config's shape (gen and fwd). */
  model?: BgptModel;
  /**
   * gen and fwd of a config's random model: its matrix weights in 16 bits; train (bf16 only): bf16 products
   * with fp32 master weights (backend/bf16.ts), and matmul_gflops is then the bf16 product rate; bf16-dot
   * (gen and fwd): bf16 weights and bf16 products.
   */
  precision?: Exclude<Precision, 'fp32'>;
  /** train: sample the matrix-product rate before every timed step too (default true; a profiler that times every call turns it off). */
  rateBetweenSteps?: boolean;
}

export function runBench(k: Kernels, config: string, what: Exclude<BenchWhat, 'peak'>, opts: BenchOptions = {}): BenchRecord {
  const spec = opts.model ? { cfg: opts.model.cfg, batch: 1 } : BENCH_CONFIGS[config];
  if (!spec) throw new Error(`unknown bench config "${config}" (a, b or c)`);
  const { cfg, batch } = spec;
  const rng = new Rng(0);
  if (opts.model && what === 'train') throw new Error('bench --model times gen and fwd only');
  if ((opts.precision === 'f16' || opts.precision === 'bf16-dot') && what === 'train') throw new Error(`bench --precision ${opts.precision} times gen and fwd only (training: fp32 or bf16)`);
  const bf16 = what === 'train' && opts.precision === 'bf16' ? bf16Products(k) : null;
  let model = opts.model ?? new BgptModel(bf16?.kernels ?? k, cfg, { rng, grad: what === 'train' });
  if (bf16) bf16.attach(model.params.data);
  else if (opts.precision && !opts.model) model = new BgptModel(k, cfg, halfParams(model, opts.precision));
  const streams = opts.streams ?? 1;
  const steps = opts.steps ?? 5, warmup = opts.warmup ?? 2;
  const extra: Record<string, unknown> = {};
  let bytesPerStep: number, times: number[];
  const cpu0 = cpuTimes();
  if (what === 'gen') {
    const n = opts.genBytes ?? 256;
    bytesPerStep = n * streams;
    times = timeSteps(() => generateRandomBytes(model, n, streams, rng), Math.min(steps, 3), 1);
    extra.kv_cache = true;
    extra.streams = streams;
  } else {
    const b = randomBatch(cfg, batch, rng);
    bytesPerStep = b.tokens.length;
    if (what === 'train') {
      const opt = new AdamW(k, model.layout.size, { lr: 1e-4 });
      const losses: number[] = [];
      // the limit: this step's work at the matrix-product rate measured in this run, on this machine: sampled
      // before every timed step (2 calls per orientation) and after the last (10), the fastest call of all
      const probe = new MatmulRateProbe(bf16?.kernels ?? k, cfg.hidden);
      times = timeSteps(() => {
        model.zeroGrad();
        losses.push(model.forward(b, { grad: true }).loss);
        model.backward();
        opt.update(model.params.data, model.params.grad!);
        bf16?.refresh();
      }, steps, warmup, opts.rateBetweenSteps === false ? undefined : () => probe.sample(2));
      extra.loss_first = losses[0];
      extra.loss_last = losses[losses.length - 1];
      probe.sample(10);
      const flops = trainFlops(cfg, batch, cfg.patchLength);
      const rate = probe.rate();
      const achieved = flops / median(times) / 1e9;
      extra.flops_per_step = flops;
      extra.gflops = +achieved.toFixed(1);
      extra.matmul_gflops = rate.gflops;
      extra.limit_fraction = +(achieved / rate.gflops).toFixed(3);
      extra.limit_step_s = +(flops / rate.gflops / 1e9).toFixed(4);
    } else {
      times = timeSteps(() => model.forward(b), steps, warmup);
    }
  }
  const med = median(times), peak = peakRssMiB();
  // over the timed steps and the rate measurements: a high share means other guests took this machine's cores
  extra.cpu_steal = stealShare(cpu0, cpuTimes());
  if (what === 'gen' && k.name === 'native') {
    // the limit when the weights come from memory: bytes read per generated byte at the rate measured now
    const half = model.params.half?.dtype, perByte = decodeWeightBytes(cfg, half ? 2 : 4, streams);
    const gbps = measureReadRate(k, half);
    extra.weight_mib_per_byte = +(perByte / 2 ** 20).toFixed(3);
    extra.read_gbps = gbps;
    extra.memory_bound_bytes_per_s = Math.round((gbps * 1e9) / perByte);
  }
  return {
    config, what, backend: k.name, threads: k.threads(), bytes_per_s: bytesPerStep / med, median_s: med,
    spread_s: [Math.min(...times), Math.max(...times)], steps: times.length, step_s: times.map((t) => +t.toFixed(4)),
    bytes_per_step: bytesPerStep, params: model.layout.count(), precision: bf16 ? 'bf16' : model.params.half?.bf16Activations ? 'bf16-dot' : model.params.half?.dtype ?? 'fp32', batch: what === 'gen' ? streams : batch, ...extra,
    peak_rss_mib: peak,
  };
}

/** `--what peak`: the machine's fp32 matrix-product rates at a config's c_fc shape, nothing else. */
export function runPeak(k: Kernels, config: string): { config: string; what: 'peak'; backend: string; threads: number } & MatmulRate {
  const spec = BENCH_CONFIGS[config];
  if (!spec) throw new Error(`unknown bench config "${config}" (a, b or c)`);
  return { config, what: 'peak', backend: k.name, threads: k.threads(), ...measureMatmulRate(k, spec.cfg.hidden) };
}

/** Generation as python/bgpt_torch.py bench times it: from a "txt" header patch, <eop> disabled, until n bytes exist (per stream). */
function generateRandomBytes(model: BgptModel, n: number, streams: number, rng: Rng): void {
  const prompts = Array.from({ length: streams }, () => ({ context: headerPatch('txt', model.cfg.patchSize), partial: [] }));
  const rngs = prompts.map(() => new Rng(rng.nextU32()));
  continueMany(model, prompts, { ...SAMPLING_DEFAULTS, rngs, maxBytes: n, noEnd: true });
}
