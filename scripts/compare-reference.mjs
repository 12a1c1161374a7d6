#!/usr/bin/env node
// bgpt against the PyTorch reference (python/bgpt_torch.py) in one sitting: rounds that alternate
// `bgpt bench` (default threads, then one thread) with the reference at one and two threads, so that both sides
// meet the same state of the machine. Prints one JSON line per round and measurement, then a summary line per
// kind with the range of the per-round ratio (bgpt at default threads / the reference's better thread count
// of the same round). On a machine whose speed drifts, these per-round ratios are the figures to quote.
//   node scripts/compare-reference.mjs [--config b] [--what train,gen] [--rounds 3] [--python /usr/bin/python3]
// Needs a built checkout (npm run build) and a Python with torch for the reference.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
const config = opt('--config', 'b'), rounds = Number(opt('--rounds', 3)), python = opt('--python', '/usr/bin/python3');
const kinds = opt('--what', 'train,gen').split(',');
if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be a positive integer, got ${opt('--rounds')}`);
for (const w of kinds) if (w !== 'train' && w !== 'gen') fail(`--what takes train and/or gen, got ${w}`);
const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
if (probe.status !== 0) fail(`${python} cannot import torch (Debian: apt-get install -y python3-torch; or pass --python)`);

function fail(msg) {
  console.error(`compare-reference: ${msg}`);
  process.exit(1);
}

// The one JSON record a bench command prints (its last JSON line).
function record(cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: root, env: { ...process.env, ...env } });
  const line = r.stdout.split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) fail(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  return JSON.parse(line);
}

const bgpt = (what, env = {}) => record(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'bench', '--config', config, '--what', what], env);
const torch = (what, threads) => record(python, [join(root, 'python', 'bgpt_torch.py'), 'bench', '--config', config, '--what', what, '--threads', String(threads)]);

const ratios = new Map(kinds.map((w) => [w, []]));
for (let round = 1; round <= rounds; round++) {
  for (const what of kinds) {
    const ref1 = torch(what, 1), ours = bgpt(what), ours1 = bgpt(what, { BGPT_THREADS: '1' }), ref2 = torch(what, 2);
    const best = Math.max(ref1.bytes_per_s, ref2.bytes_per_s), ratio = ours.bytes_per_s / best;
    ratios.get(what).push(ratio);
    console.log(JSON.stringify({
      round, config, what, bgpt_bytes_per_s: Math.round(ours.bytes_per_s), bgpt_threads: ours.threads,
      bgpt_1thread_bytes_per_s: Math.round(ours1.bytes_per_s), torch_1thread_bytes_per_s: Math.round(ref1.bytes_per_s),
      torch_2threads_bytes_per_s: Math.round(ref2.bytes_per_s), ratio: Number(ratio.toFixed(2)),
      ...(ours.limit_fraction !== undefined ? { limit_fraction: ours.limit_fraction, matmul_gflops: ours.matmul_gflops } : {}),
      cpu_steal: ours.cpu_steal,
    }));
  }
}
for (const [what, r] of ratios) {
  console.log(JSON.stringify({ config, what, rounds, ratio_min: Number(Math.min(...r).toFixed(2)), ratio_max: Number(Math.max(...r).toFixed(2)) }));
}
