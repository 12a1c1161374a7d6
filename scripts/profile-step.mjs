#!/usr/bin/env node
// Where a training step's time goes, kernel by kernel: times every native kernel call of a bench config's
// training step (forward, backward, AdamW) and prints the share of each kernel (and shape) in the step.
//   node scripts/profile-step.mjs [--config b] [--steps 3]
// Wall-clock per call: other work on the machine inflates the figures; compare shares, best of several runs.
import { performance } from 'node:perf_hooks';

const { register } = await import('tsx/esm/api');
register();
const { loadNative } = await import('../src/backend/native/index.ts');
const { runBench } = await import('../src/tasks/bench.ts');

const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
const config = opt('--config', 'b'), steps = Number(opt('--steps', 3));

const loaded = loadNative();
if ('error' in loaded) {
  console.error(`native backend unavailable: ${loaded.error}`);
  process.exit(1);
}
const nat = loaded.kernels;
// one entry per kernel and call shape (its integer arguments), timed only while `on`: from the first timed
// step to the AdamW update that ends the last one (runBench then measures the matrix-product rate). The timed
// run's own warm-up step goes untimed (`armed` until its AdamW call): it warms the JIT and oneDNN's primitives,
// and its AdamW call is the first to touch the optimizer's moments (page faults).
const calls = new Map();
let on = false, armed = true, updates = 0;
const timed = new Proxy(nat, {
  get(target, name) {
    const f = target[name];
    if (typeof f !== 'function' || name === 'threads' || name === 'name') return f;
    return (...args) => {
      if (!on) {
        const r = f.apply(target, args);
        if (armed && name === 'adamw') [armed, on] = [false, true];
        return r;
      }
      const t0 = performance.now();
      const r = f.apply(target, args);
      const ms = performance.now() - t0;
      // the integer arguments (shapes), and for matmul the transposes: forward, ∂input and ∂weight apart
      const dims = args.filter((a) => typeof a === 'number' && Number.isInteger(a) && a > 1 && a < 1e7).join(',');
      const flags = name === 'matmul' ? `${args[7] ? 'ᵀ' : ''}·${args[8] ? 'ᵀ' : ''}` : '';
      const key = `${String(name)}(${dims})${flags}`;
      const e = calls.get(key) ?? { ms: 0, n: 0 };
      e.ms += ms;
      e.n++;
      calls.set(key, e);
      if (name === 'adamw' && ++updates === steps) on = false;
      return r;
    };
  },
});
const rec = runBench(timed, config, 'train', { steps, warmup: 1, rateBetweenSteps: false });
const total = rec.step_s.reduce((a, b) => a + b, 0) * 1000;
console.log(`config ${config}: ${steps} steps, ${(total / steps).toFixed(0)} ms per step (median ${(rec.median_s * 1000).toFixed(0)}), ${nat.threads()} threads, ${loaded.info.cpu.join(' ')}`);
const byKernel = new Map();
for (const [key, e] of calls) {
  const k = key.slice(0, key.indexOf('('));
  byKernel.set(k, (byKernel.get(k) ?? 0) + e.ms);
}
const pct = (ms) => `${((100 * ms) / total).toFixed(1).padStart(5)} %`;
console.log('\nper kernel (ms per step, share of the step)');
for (const [k, ms] of [...byKernel].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(22)} ${(ms / steps).toFixed(1).padStart(8)} ms ${pct(ms)}`);
const inKernels = [...byKernel.values()].reduce((a, b) => a + b, 0);
console.log(`  ${'(outside kernels)'.padEnd(22)} ${((total - inKernels) / steps).toFixed(1).padStart(8)} ms ${pct(total - inKernels)}`);
console.log('\nper kernel and shape (top 25)');
for (const [key, e] of [...calls].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  console.log(`  ${key.padEnd(46)} ${(e.ms / steps).toFixed(1).padStart(8)} ms ${pct(e.ms)}  ×${e.n / steps}`);
}
