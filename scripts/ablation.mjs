#!/usr/bin/env node
// Ablations: train one variant at a time on the same data and held-out files, append a row each to a table.
//   node scripts/ablation.mjs VARIANTS.json [--work DIR] [--tables DIR (default docs)] [--only NAME[,NAME…]]
// VARIANTS.json is a list of variants:
//   { "name": "h128-lr1e-3",
//     "task": "cpu",                            // or "abc->mid", "mid->abc" (default "cpu")
//     "generate": ["--memory", "64", "--max-program", "8", "--train", "20000", "--test", "200"],
//     "train": ["--hidden", "128", "--patch-layers", "3", "--lr", "1e-3", ...],
//     "budget": 900,                            // seconds of training (bgpt train --max-time)
//     "init": "short-first",                    // optional: start from an earlier variant's model (a curriculum:
//                                               // short programs first, then this variant's data)
//     "outputs": 50 }                           // abc->mid, mid->abc: held-out files converted and scored (default all)
// Data: every distinct `generate` list is made once under WORK/data/<hash>/, with fixed seeds (a `--seed` in
// `generate` replaces 0): the training files and the first held-out set, plus a second held-out set from
// another seed. Variants sharing data share held-out files.
//   cpu: `bgpt cpu generate` (--seed S: train/ and test/; --seed S + 1 --train 0: the second set, without any
//     program of the training set — files are named by their program's MD5, so overlaps are dropped by name).
//   abc->mid, mid->abc (the same pairs): `bgpt data tunes` with the other flags (--count from --train, --test;
//     seeds S, S + 1, S + 2 for train, test and the second set), each converted to pairs by `bgpt data abc2midi`.
// Training: `bgpt train --train DATA/train --eval DATA/test --max-time BUDGET …` (the variant's flags after ours;
// abc->mid and mid->abc add --convert and --keep-epochs). The model scored is the checkpoint of the lowest held-out loss, or the last
// state when the run never evaluated.
// Evaluation on both held-out sets: cpu: `bgpt cpu evaluate --model M --json` (machine flags --memory,
// --registers from `generate`); abc->mid, mid->abc: `bgpt eval --model M --convert MODE --generate N --json`.
// Each finished variant appends one row to TABLES/ablations.md (cpu), ablations-abc2midi.md or ablations-mid2abc.md (created
// with its header when missing) and prints the row's figures as one JSON line.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { epochPath, lastPath } from '../dist/tasks/train.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

const argv = process.argv.slice(2);
const flag = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const listPath = argv[0];
if (!listPath || listPath.startsWith('--')) {
  console.error('usage: node scripts/ablation.mjs VARIANTS.json [--work DIR] [--tables DIR] [--only NAME[,NAME…]]');
  process.exit(2);
}
const work = resolve(flag('--work', 'ablation-work'));
const tables = resolve(flag('--tables', join(ROOT, 'docs')));
const only = flag('--only', undefined)?.split(',');

function fail(msg) {
  console.error(`ablation: ${msg}`);
  process.exit(1);
}

/**
 * Runs `bgpt ARGS`, echoing the command; stops everything on failure. Its output goes to our stderr (stdout
 * carries only the result lines), or is returned with `quiet`.
 */
function bgpt(args, { quiet = false } = {}) {
  console.error(`$ bgpt ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 2, 2], maxBuffer: 1 << 28 });
  if (r.status !== 0) fail(`bgpt ${args[0]} ${args[1] ?? ''} failed (exit ${r.status})${r.stderr ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`);
  return r.stdout;
}

/** The value of a flag in a list of arguments, or undefined. */
const valueOf = (args, name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const without = (args, name) => {
  const i = args.indexOf(name);
  return i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)];
};

/** The variant list, checked (one line naming the list and the variant on a fault). */
function readVariants() {
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
    v.task ??= 'cpu';
    if (!TASKS[v.task]) fail(`${where} (${v.name}): "task" must be ${Object.keys(TASKS).join(' or ')}`);
    if (v.outputs !== undefined && !(Number.isInteger(v.outputs) && v.outputs > 0)) fail(`${where} (${v.name}): "outputs" must be a whole number > 0`);
    if (!(typeof v.budget === 'number' && v.budget > 0)) fail(`${where} (${v.name}): "budget" must be a number of seconds > 0`);
    if (v.init !== undefined && !names.has(v.init) || v.init === v.name) fail(`${where} (${v.name}): "init" must name an earlier variant`);
    for (const f of ['--out', '--eval', '--max-time', '--init']) if (v.train.includes(f)) fail(`${where} (${v.name}): "train" must not set ${f} (the runner does)`);
  }
  return variants;
}

/** Makes (once) the data of a variant in WORK/data/<hash of task and flags>/ and returns its folders. */
function dataFor(v) {
  const key = v.task === 'cpu' ? v.generate : [TASKS[v.task].dataKey, ...v.generate];
  const dir = join(work, 'data', createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 12));
  if (!existsSync(join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'done'), JSON.stringify(TASKS[v.task].generate(dir, Number(valueOf(v.generate, '--seed') ?? 0), without(v.generate, '--seed'))));
  }
  return { dir, ...JSON.parse(readFileSync(join(dir, 'done'), 'utf8')) };
}

const pct = (t) => (t ? (100 * t.accuracy).toFixed(2) : '–');
const share = (x) => (100 * x).toFixed(1);
/** Several fields' tallies as one. */
function merged(byField, names) {
  let matched = 0, total = 0;
  for (const n of names) {
    matched += byField[n].matched;
    total += byField[n].total;
  }
  return { matched, total, accuracy: total ? matched / total : 1 };
}

const RERUN = `To rerun a row, put its data and train flags and its budget into a variant list and run
\`node scripts/ablation.mjs LIST.json\` (see the top of the script for the format).`;

/** Tunes from seeds S, S + 1, S + 2 (--count from --train, --test, --test), each converted to ABC/MIDI pairs. */
function tunePairs(dir, seed, base) {
  const n = { train: valueOf(base, '--train') ?? '1000', test: valueOf(base, '--test') ?? '100' };
  const tuneFlags = without(without(base, '--train'), '--test');
  const sets = [['train', n.train, seed], ['test', n.test, seed + 1], ['second', n.test, seed + 2]];
  for (const [name, count, s] of sets) {
    bgpt(['data', 'tunes', '--out', join(dir, `${name}.abc`), '--count', count, '--seed', String(s), ...tuneFlags]);
    bgpt(['data', 'abc2midi', join(dir, `${name}.abc`), '--out', join(dir, name)]);
  }
  return { train: join(dir, 'train'), test: join(dir, 'test'), test2: join(dir, 'second') };
}

const TASKS = {
  cpu: {
    table: 'ablations.md',
    /** train/, test/ (seed S) and second/test/ (seed S + 1, no program of train/). */
    generate(dir, seed, base) {
      bgpt(['cpu', 'generate', '--out', join(dir, 'main'), ...base, '--seed', String(seed)]);
      bgpt(['cpu', 'generate', '--out', join(dir, 'second'), ...without(base, '--train'), '--train', '0', '--seed', String(seed + 1)]);
      const seen = new Set(readdirSync(join(dir, 'main', 'train')));
      let dropped = 0;
      for (const f of readdirSync(join(dir, 'second', 'test'))) {
        if (seen.has(f)) {
          rmSync(join(dir, 'second', 'test', f));
          dropped++;
        }
      }
      return { train: join(dir, 'main', 'train'), test: join(dir, 'main', 'test'), test2: join(dir, 'second', 'test'), dropped };
    },
    trainFlags: [],
    score(v, model, dir) {
      const machine = ['--memory', '--registers'].flatMap((f) => (valueOf(v.generate, f) ? [f, valueOf(v.generate, f)] : []));
      return JSON.parse(bgpt(['cpu', 'evaluate', dir, ...machine, '--model', model, '--json', '--worst', '0'], { quiet: true }));
    },
    cells(a, b) {
      const regs = Object.keys(a.byField).filter((n) => !/^(PC|ACC|IR\d)$/.test(n));
      return [
        `${pct(a)} (${a.files})`, `${pct(b)} (${b.files})`, pct(a.byField.PC), pct(merged(a.byField, ['IR0', 'IR1', 'IR2', 'IR3'])), pct(a.byField.ACC),
        pct(merged(a.byField, regs)), regs.map((n) => Math.round(100 * a.byField[n].accuracy)).join(' '),
      ];
    },
    figures: (a, b) => ({ accuracy: a.accuracy, accuracy2: b.accuracy, files: a.files, files2: b.files, byField: Object.fromEntries(Object.entries(a.byField).map(([n, t]) => [n, t.accuracy])) }),
    header: `# CPU-simulation ablations

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

${RERUN} The one-factor sweep around the
patch-size-2 base (learning rate, width, depth, batch, dropout, number of files, a short-programs-first curriculum):
\`node scripts/ablation.mjs docs/ablations-cpu.json\`. Note that \`--epochs\` sets the length of the cosine
learning-rate schedule: in a run cut by its budget, the rate has not decayed unless the epochs fit the budget.

| variant | data | train | budget s | steps | train s | held-out % | 2nd set % | PC | IR | ACC | registers | A…J | CPU |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
`,
  },
  'abc->mid': {
    table: 'ablations-abc2midi.md',
    dataKey: 'abc->mid',
    generate: tunePairs,
    trainFlags: ['--convert', 'abc->mid', '--keep-epochs'],
    /** One epoch's state on the first held-out set: parse and notes shares, plain and after repair. */
    epochCell: (e, a) => `${e}: ${share(a.outputs.midi.parses)}/${share(a.outputs.midi.notes_match)} (${share(a.outputs.midi.parses_after_repair)}/${share(a.outputs.midi.notes_match_after_repair)})`,
    score(v, model, dir) {
      return JSON.parse(bgpt(['eval', '--model', model, '--convert', 'abc->mid', dir, '--json', '--generate', ...(v.outputs ? [String(v.outputs)] : [])], { quiet: true }));
    },
    cells: (a, b) => [
      a.bpb.toFixed(4), a.source.bpb.toFixed(4), `${share(a.outputs.midi.parses)} (${a.outputs.files})`, share(a.outputs.midi.notes_match),
      share(a.outputs.midi.parses_after_repair), share(a.outputs.midi.notes_match_after_repair), b.bpb.toFixed(4),
      `${share(b.outputs.midi.parses)} (${b.outputs.files})`, share(b.outputs.midi.notes_match),
    ],
    figures: (a, b) => ({ bpb: a.bpb, sourceBpb: a.source.bpb, midi: a.outputs.midi, bpb2: b.bpb, midi2: b.outputs.midi }),
    header: `# ABC → MIDI ablations

One row per training run of \`scripts/ablation.mjs\` with \`"task": "abc->mid"\`, appended as each run ends. Every
run of one data variant trains on the same pairs and is scored on the same held-out pairs.

- **data**: \`--train N --test M\` and the other \`bgpt data tunes\` flags; training tunes from \`--seed 0\`, held-out
  tunes from seed 1, the second held-out set from seed 2, each converted to pairs by \`bgpt data abc2midi\`.
- **train**: the \`bgpt train\` flags after \`--convert abc->mid --train DATA/train --eval DATA/test --max-time BUDGET\`.
- **budget s**, **steps**, **train s**: as in [ablations.md](ablations.md).
- **target bpb**, **source bpb**: bits per byte of \`bgpt eval --convert abc->mid\` on the held-out pairs, on the MIDI
  part and on the ABC part (with the MIDI header patch).
- **parse %**, **notes %**: of the held-out ABC files converted greedily (\`bgpt eval --generate\`; their number in
  parentheses), the share that parse as MIDI and the share that play exactly the reference's notes (pitch,
  channel, onset, duration); **repaired**: the same after rewriting the chunk lengths (\`bgpt data midi-match\`).
- **2nd set**: target bpb, parse % and notes % on the second held-out set.
- **per epoch**: the state at the end of each epoch (\`--keep-epochs\`) on the first held-out set, as
  \`epoch: parse %/notes % (repaired parse %/notes %)\`.

${RERUN}

| variant | data | train | budget s | steps | train s | target bpb | source bpb | parse % | notes % | parse % repaired | notes % repaired | 2nd set bpb | 2nd set parse % | 2nd set notes % | per epoch | CPU |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
`,
  },
  'mid->abc': {
    table: 'ablations-mid2abc.md',
    dataKey: 'abc->mid', // the same pairs, the other way
    generate: tunePairs,
    trainFlags: ['--convert', 'mid->abc', '--keep-epochs'],
    epochCell: (e, a) => `${e}: ${share(a.outputs.abc.parses)}/${share(a.outputs.abc.notes_match)}`,
    score(v, model, dir) {
      return JSON.parse(bgpt(['eval', '--model', model, '--convert', 'mid->abc', dir, '--json', '--generate', ...(v.outputs ? [String(v.outputs)] : [])], { quiet: true }));
    },
    cells: (a, b) => [
      a.bpb.toFixed(4), a.source.bpb.toFixed(4), `${share(a.outputs.abc.parses)} (${a.outputs.files})`, share(a.outputs.abc.parses_clean),
      share(a.outputs.abc.notes_match), b.bpb.toFixed(4), `${share(b.outputs.abc.parses)} (${b.outputs.files})`, share(b.outputs.abc.notes_match),
    ],
    figures: (a, b) => ({ bpb: a.bpb, sourceBpb: a.source.bpb, abc: a.outputs.abc, bpb2: b.bpb, abc2: b.outputs.abc }),
    header: `# MIDI → ABC ablations

One row per training run of \`scripts/ablation.mjs\` with \`"task": "mid->abc"\`, appended as each run ends: the
paper's reverse conversion, on the same pairs as [the ABC → MIDI table](ablations-abc2midi.md).

- **data**, **budget s**, **steps**, **train s**: as in the ABC → MIDI table.
- **train**: the \`bgpt train\` flags after \`--convert mid->abc --train DATA/train --eval DATA/test --max-time BUDGET\`.
- **target bpb**, **source bpb**: bits per byte of \`bgpt eval --convert mid->abc\` on the held-out pairs, on the ABC
  part and on the MIDI part (with the ABC header patch).
- **parse %**, **clean %**, **notes %**: of the held-out MIDI files converted greedily (\`bgpt eval --generate\`;
  their number in parentheses), the share that abcjs reads as a tune with notes, the share it reads without a
  warning, and the share whose notes (abcjs's MIDI of the output: pitch, channel, onset, duration) are exactly the
  source MIDI file's. Spelling may differ (\`^F\` in C or \`F\` in G, \`B2\` or \`B B\` tied): the notes decide.
- **2nd set**: target bpb, parse % and notes % on the second held-out set.
- **per epoch**: the state at the end of each epoch on the first held-out set, as \`epoch: parse %/notes %\`.

${RERUN}

| variant | data | train | budget s | steps | train s | target bpb | source bpb | parse % | clean % | notes % | 2nd set bpb | 2nd set parse % | 2nd set notes % | per epoch | CPU |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
`,
  },
};

/** The best checkpoint (lowest held-out loss); a run stopped by --max-steps between evaluations has only its last state. */
function bestOf(out) {
  const best = existsSync(out) ? out : lastPath(out);
  if (!existsSync(best)) fail(`${out}: no model (was its variant run?)`);
  return best;
}

const cpuName = `${cpus()[0]?.model.trim() ?? 'unknown CPU'} ×${cpus().length}`;
const cell = (s) => String(s).replace(/\|/g, '\\|');

for (const v of readVariants()) {
  if (only && !only.includes(v.name)) continue;
  const task = TASKS[v.task], data = dataFor(v);
  const out = join(work, 'runs', v.name, 'model.safetensors');
  rmSync(dirname(out), { recursive: true, force: true });
  mkdirSync(dirname(out), { recursive: true });
  const t0 = Date.now();
  const init = v.init ? ['--init', bestOf(join(work, 'runs', v.init, 'model.safetensors'))] : [];
  bgpt(['train', ...task.trainFlags, '--train', data.train, '--eval', data.test, '--out', out, '--max-time', String(v.budget), ...init, ...v.train]);
  const seconds = (Date.now() - t0) / 1000;
  const steps = readFileSync(`${out}.log.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'step').pop()?.step ?? 0;
  const model = bestOf(out);
  const a = task.score(v, model, data.test), b = task.score(v, model, data.test2);
  const epochs = [];
  if (task.epochCell) {
    for (let e = 1; existsSync(epochPath(out, e)); e++) epochs.push(task.epochCell(e, task.score(v, epochPath(out, e), data.test)));
  }
  const row = [
    v.name, `\`${v.generate.join(' ')}\``, `\`${[...(v.init ? [`--init ${v.init}`] : []), ...v.train].join(' ')}\``, v.budget, steps, seconds.toFixed(0),
    ...task.cells(a, b), ...(task.epochCell ? [epochs.join(' · ') || '–'] : []), cpuName,
  ];
  const table = join(tables, task.table);
  if (!existsSync(table)) {
    mkdirSync(tables, { recursive: true });
    writeFileSync(table, task.header);
  }
  appendFileSync(table, `| ${row.map(cell).join(' | ')} |\n`);
  console.log(JSON.stringify({ variant: v.name, steps, seconds, ...task.figures(a, b), ...(epochs.length ? { perEpoch: epochs } : {}), ...(data.dropped !== undefined ? { dropped2: data.dropped } : {}) }));
}
