/** `bgpt bench` (npm run bench): JSON lines of bytes per second at the reference's configs. */
import type { Command } from 'commander';
import { getKernels } from '../backend/index.js';
import { addPrecisionOption, bf16Check, generativeModel, num, precisionOf } from './options.js';
import { basename } from 'node:path';
import { BENCH_CONFIGS, runBench, runPeak, type BenchWhat } from '../tasks/bench.js';
import { registerBenchServe } from './bench-serve.js';
import { registerBenchDetect } from './bench-detect.js';

const WHATS: BenchWhat[] = ['train', 'fwd', 'gen', 'peak'];

export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('measure training, forward and generation throughput (JSON lines)')
    .option('--config <names>', 'configs a, b, c (comma-separated)', 'a,b,c')
    .option('--what <kinds>', 'train, fwd, gen, peak (the machine\'s matrix-product rate alone) (comma-separated)', 'train,fwd,gen')
    .option('--steps <n>', 'timed steps', '5')
    .option('--warmup <n>', 'untimed steps first', '2')
    .option('--streams <n>', 'gen: decode n streams together as one batch (aggregate bytes/s)', '1')
    .option('--model <weights>', 'gen, fwd: time this model file (e.g. a paper-size .pth) instead of --config');
  addPrecisionOption(bench)
    .action((opts: { config: string; what: string; steps: string; warmup: string; streams: string; model?: string; precision?: string }) => {
      const configs = opts.config.split(',').map((s) => s.trim());
      const whats = opts.what.split(',').map((s) => s.trim()) as BenchWhat[];
      for (const c of configs) if (!BENCH_CONFIGS[c]) throw new Error(`unknown config "${c}" (a, b or c)`);
      for (const w of whats) if (!WHATS.includes(w)) throw new Error(`unknown --what "${w}" (train, fwd, gen or peak)`);
      const steps = Number(opts.steps), warmup = Number(opts.warmup);
      if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(warmup) || warmup < 0) throw new Error('--steps must be ≥ 1 and --warmup ≥ 0');
      const streams = num('--streams', opts.streams, { int: true, min: 1 }), precision = precisionOf(opts.precision);
      const k = getKernels();
      if (opts.model) {
        const model = generativeModel(opts.model, precision);
        for (const w of whats) {
          if (w !== 'gen' && w !== 'fwd') throw new Error('--model times gen and fwd only');
          console.log(JSON.stringify(runBench(k, basename(opts.model), w, { steps, warmup, streams, model })));
        }
        return;
      }
      const half = precision === 'auto' || precision === 'fp32' ? undefined : precision;
      // training in bf16 computes in bf16: refused (one line) where the CPU cannot
      if (half === 'bf16' && whats.includes('train')) bf16Check();
      for (const c of configs) for (const w of whats) console.log(JSON.stringify(w === 'peak' ? runPeak(k, c) : runBench(k, c, w, { steps, warmup, streams, precision: half })));
    });
  registerBenchServe(bench);
  registerBenchDetect(bench);
}
