#!/usr/bin/env node
// CPU-simulation ablations: train one variant at a time on the same data and held-out files, append a row each.
//   node scripts/ablation.mjs VARIANTS.json [--work DIR] [--table docs/ablations.md] [--only NAME]
// VARIANTS.json is a list of variants:
//   { "name": "h128-lr1e-3",
//     "generate": ["--memory", "64", "--max-program", "8", "--train", "20000", "--test", "200"],
//     "train": ["--hidden", "128", "--patch-layers", "3", "--lr", "1e-3", ...],
//     "budget": 900,                            // seconds of training (bgpt train --max-time)
//     "init": "short-first" }                   // optional: start from an earlier variant's model (a curriculum:
//                                               // short programs first, then this variant's data)
// Data: every distinct `generate` list is generated once under WORK/data/<hash>/ with --seed 0 (train/ and
// test/, the first held-out set) plus a second held-out set from --seed 1 (--train 0) without any program of the
// training set (files are named by their program's MD5, so overlaps are found by name and dropped). A `--seed`
// in `generate` replaces 0 (the second set then uses seed + 1). Variants sharing data share held-out files.
// Training: `bgpt train --train DATA/train --eval DATA/test --max-time BUDGET …` (the variant's flags after ours).
// Evaluation: `bgpt cpu evaluate --model BEST --json` on both held-out sets (BEST: the checkpoint of the lowest
// held-out loss, or the last state when the run never evaluated), the machine flags (--memory, --registers) taken
// from `generate`.
// Each finished variant appends one row to the table (created with its header when missing): the data flags,
// the train flags, the budget, steps done, seconds trained, accuracy on both held-out sets overall and per field,
// the CPU. Rerun a row with the same variant JSON (the commands are in the row).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

const argv = process.argv.slice(2);
const flag = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const listPath = argv[0];
if (!listPath || listPath.startsWith('--')) {
  console.error('usage: node scripts/ablation.mjs VARIANTS.json [--work DIR] [--table docs/ablations.md] [--only NAME]');
  process.exit(2);
}
const work = resolve(flag('--work', 'ablation-work'));
const table = resolve(flag('--table', join(ROOT, 'docs', 'ablations.md')));
const only = flag('--only', undefined);

function fail(msg) {
  console.error(`ablation: ${msg}`);
  process.exit(1);
}

let variants;
try {
  variants = JSON.parse(readFileSync(listPath, 'utf8'));
} catch (e) {
  fail(`${listPath}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
}
if (!Array.isArray(variants)) fail(`${listPath}: expected a JSON list of variants`);
const names = new Set();
for (const [i, v] of variants.entries()) {
  const where = `${listPath}: variant ${i + 1}`;
  if (typeof v?.name !== 'string' || !v.name) fail(`${where}: "name" must be a non-empty string`);
  if (names.has(v.name)) fail(`${where}: name "${v.name}" is used twice`);
  names.add(v.name);
  for (const k of ['generate', 'train']) {
    if (!Array.isArray(v[k]) || !v[k].every((a) => typeof a === 'string')) fail(`${where} (${v.name}): "${k}" must be a list of strings`);
  }
  if (!(typeof v.budget === 'number' && v.budget > 0)) fail(`${where} (${v.name}): "budget" must be a number of seconds > 0`);
  if (v.init !== undefined && !names.has(v.init) || v.init === v.name) fail(`${where} (${v.name}): "init" must name an earlier variant`);
  for (const f of ['--out', '--eval', '--max-time', '--init']) if (v.train.includes(f)) fail(`${where} (${v.name}): "train" must not set ${f} (the runner does)`);
}

/** Runs `bgpt ARGS`, echoing the command; stops everything on failure. */
function bgpt(args, { quiet = false } = {}) {
  console.error(`$ bgpt ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'], maxBuffer: 1 << 28 });
  if (r.status !== 0) fail(`bgpt ${args[0]} ${args[1] ?? ''} failed (exit ${r.status})${r.stderr ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`);
  return r.stdout;
}

/** The value of a flag in a list of arguments, or undefined. */
const valueOf = (args, name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const without = (args, name) => {
  const i = args.indexOf(name);
  return i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)];
};

/** Generates (once) the data of a `generate` list: train/, test/ and test2/ (another seed, no training program). */
function dataFor(generate) {
  const dir = join(work, 'data', createHash('sha256').update(JSON.stringify(generate)).digest('hex').slice(0, 12));
  const seed = Number(valueOf(generate, '--seed') ?? 0);
  const base = without(generate, '--seed');
  const second = without(base, '--train');
  const commands = [
    ['cpu', 'generate', '--out', join(dir, 'main'), ...base, '--seed', String(seed)],
    ['cpu', 'generate', '--out', join(dir, 'second'), ...second, '--train', '0', '--seed', String(seed + 1)],
  ];
  if (!existsSync(join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const c of commands) bgpt(c);
    const seen = new Set(readdirSync(join(dir, 'main', 'train')));
    let dropped = 0;
    for (const f of readdirSync(join(dir, 'second', 'test'))) {
      if (seen.has(f)) {
        rmSync(join(dir, 'second', 'test', f));
        dropped++;
      }
    }
    writeFileSync(join(dir, 'done'), JSON.stringify({ dropped }));
  }
  const { dropped } = JSON.parse(readFileSync(join(dir, 'done'), 'utf8'));
  return { train: join(dir, 'main', 'train'), test: join(dir, 'main', 'test'), test2: join(dir, 'second', 'test'), dropped, commands };
}

/** The best checkpoint (lowest held-out loss); a run stopped by --max-steps between evaluations has only its last state. */
function bestOf(out) {
  const best = existsSync(out) ? out : out.replace(/\.safetensors$/, '.last.safetensors');
  if (!existsSync(best)) fail(`${out}: no model (was its variant run?)`);
  return best;
}

const pct = (t) => (t ? (100 * t.accuracy).toFixed(2) : '–');
/** Several fields' tallies as one. */
function merged(byField, names) {
  let matched = 0, total = 0;
  for (const n of names) {
    matched += byField[n].matched;
    total += byField[n].total;
  }
  return { matched, total, accuracy: total ? matched / total : 1 };
}

const HEADER = `# CPU-simulation ablations

One row per training run of \`scripts/ablation.mjs\`, appended as each run ends. Every run of one data variant
trains on the same files and is scored on the same held-out files.

- **data**: the \`bgpt cpu generate\` flags; the files come from \`--seed 0\` (train/ and test/) and the second
  held-out set from \`--seed 1\` with \`--train 0\`, training programs removed from it.
- **train**: the \`bgpt train\` flags after \`--train DATA/train --eval DATA/test --max-time BUDGET\`;
  \`--init NAME\` means the run started from the model of the row NAME (a curriculum stage).
- **budget s**, **steps**, **train s**: the time limit given, the optimizer steps done, the seconds of the
  training process (data loading and evaluations included).
- **held-out %**, **2nd set %**: byte accuracy of \`bgpt cpu evaluate --model\` (greedy prediction of every state
  after the first from the memory and the first state) on the two held-out sets, with the number of files.
  The model is the checkpoint of the lowest held-out loss (the last state if the run never evaluated).
- **PC**, **IR**, **ACC**, **registers**: accuracy per field on the first held-out set (IR: its four bytes;
  registers: all of them), then each register (A, B, …) rounded to whole percents.
- **CPU**: the machine it ran on. Figures taken while other work shares the machine are slower (fewer steps in
  the budget) than on a quiet one.

To rerun a row, put its data and train flags and its budget into a variant list and run
\`node scripts/ablation.mjs LIST.json\` (see the top of the script for the format). The first sweep, one change at
a time from the README recipe (learning rate, width, batch, memory size, a short-programs-first curriculum):
\`node scripts/ablation.mjs docs/ablations-cpu.json\`. Note that \`--epochs\` sets the length of the cosine
learning-rate schedule: in a run cut by its budget, the rate has not decayed unless the epochs fit the budget.

| variant | data | train | budget s | steps | train s | held-out % | 2nd set % | PC | IR | ACC | registers | A…J | CPU |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
`;

const cpuName = `${cpus()[0]?.model.trim() ?? 'unknown CPU'} ×${cpus().length}`;
const cell = (s) => String(s).replace(/\|/g, '\\|');

for (const v of variants) {
  if (only && v.name !== only) continue;
  const data = dataFor(v.generate);
  const machine = ['--memory', '--registers'].flatMap((f) => (valueOf(v.generate, f) ? [f, valueOf(v.generate, f)] : []));
  const out = join(work, 'runs', v.name, 'model.safetensors');
  rmSync(dirname(out), { recursive: true, force: true });
  mkdirSync(dirname(out), { recursive: true });
  const t0 = Date.now();
  const init = v.init ? ['--init', bestOf(join(work, 'runs', v.init, 'model.safetensors'))] : [];
  bgpt(['train', '--train', data.train, '--eval', data.test, '--out', out, '--max-time', String(v.budget), ...init, ...v.train]);
  const seconds = (Date.now() - t0) / 1000;
  const steps = readFileSync(`${out}.log.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'step').pop()?.step ?? 0;
  const model = bestOf(out);
  const score = (dir) => JSON.parse(bgpt(['cpu', 'evaluate', dir, ...machine, '--model', model, '--json', '--worst', '0'], { quiet: true }));
  const a = score(data.test), b = score(data.test2);
  const f = Object.keys(a.byField);
  const regs = f.filter((n) => !/^(PC|ACC|IR\d)$/.test(n));
  const row = [
    v.name, `\`${v.generate.join(' ')}\``, `\`${[...(v.init ? [`--init ${v.init}`] : []), ...v.train].join(' ')}\``, v.budget, steps, seconds.toFixed(0),
    `${pct(a)} (${a.files})`, `${pct(b)} (${b.files})`, pct(a.byField.PC), pct(merged(a.byField, ['IR0', 'IR1', 'IR2', 'IR3'])), pct(a.byField.ACC),
    pct(merged(a.byField, regs)), regs.map((n) => Math.round(100 * a.byField[n].accuracy)).join(' '), cpuName,
  ];
  if (!existsSync(table)) {
    mkdirSync(dirname(table), { recursive: true });
    writeFileSync(table, HEADER);
  }
  appendFileSync(table, `| ${row.map(cell).join(' | ')} |\n`);
  console.log(JSON.stringify({
    variant: v.name, steps, seconds, accuracy: a.accuracy, accuracy2: b.accuracy, files: a.files, files2: b.files, dropped2: data.dropped,
    byField: Object.fromEntries(f.map((n) => [n, a.byField[n].accuracy])),
  }));
}
