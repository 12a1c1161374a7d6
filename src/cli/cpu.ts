/** `bgpt cpu …`: the CPU state simulator of docs/format.md §7 — generate a dataset, translate, run and evaluate states files. */
import { writeFileAtomic } from '../util/atomic.js';
import type { Command } from 'commander';
import { assemble } from '../sim/asm.js';
import { ACC, initialRecord } from '../sim/cpu.js';
import { evaluateStates, type EvaluateResult, type Predictor, type Tally } from '../sim/evaluate.js';
import type { BgptModel } from '../model/bgpt.js';
import { continueFile } from '../api/generate.js';
import { readInput } from '../tasks/eval.js';
import { generativeModel, num } from './options.js';
import { generateDataset } from '../sim/generate.js';
import { checkConfig, DEFAULT_CONFIG, registerName, registerNumber, type CpuConfig } from '../sim/isa.js';
import { parseOpWeights, randomInitialState } from '../sim/program.js';
import { runStates } from '../sim/states.js';
import { formatStates, viewStates } from '../sim/translate.js';
import { Rng } from '../util/rng.js';
import { progressLine } from './progress.js';

interface MachineOpts {
  registers: string;
  memory: string;
}

function machine(o: MachineOpts): CpuConfig {
  const cfg = { registers: num('--registers', o.registers, { int: true, min: 1 }), memory: num('--memory', o.memory, { int: true, min: 4 }) };
  checkConfig(cfg);
  return cfg;
}

function withMachine(c: Command): Command {
  return c
    .option('--registers <n>', 'registers (named A, B, …)', String(DEFAULT_CONFIG.registers))
    .option('--memory <bytes>', 'memory size (a multiple of 4, at most 1024)', String(DEFAULT_CONFIG.memory));
}

const pct = (t: Tally) => `${(100 * t.accuracy).toFixed(4).padStart(8)} %`;
const row = (label: string, w: number, t: Tally, extra = '') =>
  `  ${label.padEnd(w)}  ${String(t.matched).padStart(12)} / ${String(t.total).padEnd(12)} ${pct(t)}${extra}`;

function printEvaluation(r: EvaluateResult): void {
  console.log(`${r.files} files, ${r.matched} of ${r.total} bytes right: accuracy ${(100 * r.accuracy).toFixed(4)} %` +
    (r.filesWithErrors ? ` (${r.filesWithErrors} files with errors)` : ''));
  if (r.extraBytes) console.log(`${r.extraBytes} predicted bytes after the end of the simulation (not counted)`);
  console.log('\nby field of the state record:');
  for (const [k, t] of Object.entries(r.byField)) console.log(row(k, 7, t));
  console.log('\nby instruction executed before the record:');
  for (const [k, t] of Object.entries(r.byOpcode)) console.log(row(k, 7, t));
  // lengths in bins of 32 instructions keep the table short; --json has every length
  console.log('\nby program length (instructions executed):');
  const bins = new Map<number, { matched: number; total: number; files: number }>();
  for (const [n, t] of Object.entries(r.byLength)) {
    const b = Math.floor((Number(n) - 1) / 32);
    const a = bins.get(b) ?? { matched: 0, total: 0, files: 0 };
    a.matched += t.matched; a.total += t.total; a.files += t.files;
    bins.set(b, a);
  }
  for (const [b, a] of [...bins].sort((x, y) => x[0] - y[0])) {
    const t = { ...a, accuracy: a.total ? a.matched / a.total : 1 };
    console.log(row(`${32 * b + 1}-${32 * b + 32}`, 7, t, `  ${a.files} files`));
  }
  if (r.worst.length) {
    console.log('\nworst files:');
    for (const f of r.worst) {
      const m = f.firstMismatch!;
      console.log(`  ${f.path}  ${(100 * f.accuracy).toFixed(2)} %  first wrong byte: record ${m.record} ${m.field}, expected ${m.expected}, got ${m.got ?? 'nothing'}`);
    }
  }
}

function opWeightsFlag(spec: string) {
  try {
    return parseOpWeights(spec);
  } catch (e) {
    throw new Error(`--train-op-weights: ${(e as Error).message}`);
  }
}

export function registerCpu(program: Command): void {
  const cpu = program
    .command('cpu')
    .description('the toy CPU of the bGPT paper: generate state datasets, translate, run and evaluate states files');

  withMachine(cpu.command('generate'))
    .description('write DIR/train/*.bin and DIR/test/*.bin: random programs and their CPU states, named by the MD5 of the program text')
    .requiredOption('--out <dir>', 'output folder (its train/ and test/ must be empty)')
    .requiredOption('--train <n>', 'training files (published: 2100000)')
    .requiredOption('--test <n>', 'test files (published: 21000)')
    .option('--min-program <n>', 'shortest program, in instructions with the HLT', '1')
    .option('--max-program <n>', 'longest program, in instructions with the HLT', '255')
    .option('--seed <n>', 'random seed', '0')
    .option('--train-op-weights <list>', 'training split only: relative opcode weights, e.g. XOR=2,AND=2 (the rest 1; test stays uniform as published)')
    .option('--json', 'print one JSON object {train, test, duplicates:{train,test}, seconds, filesPerSecond}')
    .action((o: MachineOpts & { out: string; train: string; test: string; minProgram: string; maxProgram: string; seed: string; trainOpWeights?: string; json?: boolean }) => {
      const cfg = machine(o);
      const progress = progressLine('generating');
      const t0 = Date.now();
      const r = generateDataset({
        ...cfg, out: o.out, train: num('--train', o.train, { int: true, min: 0 }), test: num('--test', o.test, { int: true, min: 0 }),
        minProgram: num('--min-program', o.minProgram, { int: true, min: 1 }), maxProgram: num('--max-program', o.maxProgram, { int: true, min: 1 }),
        seed: num('--seed', o.seed, { int: true, min: 0, max: 0xffffffff }),
        trainOpWeights: o.trainOpWeights === undefined ? undefined : opWeightsFlag(o.trainOpWeights),
        onProgress: (split, done, total) => {
          const s = (Date.now() - t0) / 1000;
          const all = split === 'train' ? done : Number(o.train) + done;
          progress.update(`${split} ${done}/${total} files, ${Math.round(all / Math.max(s, 1e-3))} files/s`);
        },
      });
      progress.done();
      const fps = Math.round((r.train + r.test) / Math.max(r.seconds, 1e-6));
      if (o.json) {
        console.log(JSON.stringify({ ...r, filesPerSecond: fps }));
        return;
      }
      const dup = r.duplicates.train + r.duplicates.test;
      console.log(`wrote ${r.train} train and ${r.test} test files to ${o.out} in ${r.seconds.toFixed(1)} s (${fps} files/s)` +
        (dup ? `; ${dup} duplicate programs were drawn again (${r.duplicates.train} train, ${r.duplicates.test} test)` : ''));
    });

  withMachine(cpu.command('translate'))
    .description('print a states file readably: the program, then every state (PC, ACC, IR as assembly, registers)')
    .argument('<file>', 'states file (.bin)')
    .option('--json', 'print {program:[lines], states:[{pc, acc, ir, instruction, registers}], trailing:[bytes]}')
    .action((file: string, o: MachineOpts & { json?: boolean }) => {
      const cfg = machine(o);
      const bytes = new Uint8Array(readInput(file));
      let out: string;
      try {
        out = o.json ? JSON.stringify(viewStates(bytes, cfg)) + '\n' : formatStates(bytes, cfg);
      } catch (e) {
        throw new Error(`${file}: ${(e as Error).message}`);
      }
      process.stdout.write(out);
    });

  withMachine(cpu.command('run'))
    .description('assemble and simulate a program written by hand; print its states or save them as a states file')
    .argument('<program>', 'assembly file: one instruction per line, e.g. "LOADI 7", "ADD A B C"; ; starts a comment')
    .option('--set <reg=value...>', 'initial values, e.g. --set ACC=3 A=5 B=250 (others 0, or random with --random-init)')
    .option('--random-init', 'random initial ACC and registers (0..255) as in the dataset')
    .option('--seed <n>', 'seed for --random-init', '0')
    .option('--out <file>', 'write the states file (memory, then every state record) instead of printing')
    .option('--json', 'print the states as JSON (as translate --json)')
    .action((file: string, o: MachineOpts & { set?: string[]; randomInit?: boolean; seed: string; out?: string; json?: boolean }) => {
      const cfg = machine(o);
      const memory = assemble(readInput(file).toString('utf8'), cfg, file);
      const first = initialRecord(cfg, 0, new Uint8Array(cfg.registers));
      if (o.randomInit) randomInitialState(new Rng(num('--seed', o.seed, { int: true, min: 0, max: 0xffffffff })), first);
      for (const a of o.set ?? []) {
        const m = /^([A-Za-z]+)=(\d+)$/.exec(a.trim());
        const name = m ? m[1].toUpperCase() : '';
        const at = name === 'ACC' ? ACC : registerNumber(name, cfg.registers) > 0 ? 5 + registerNumber(name, cfg.registers) : -1;
        if (!m || at < 0 || Number(m[2]) > 255) {
          throw new Error(`--set ${a}: expected REG=VALUE with REG one of ACC, A..${registerName(cfg.registers)} and VALUE 0..255`);
        }
        first[at] = Number(m[2]);
      }
      let states: Uint8Array;
      try {
        states = runStates(memory, first, cfg);
      } catch (e) {
        throw new Error(`${file}: ${(e as Error).message}`);
      }
      if (o.out) {
        try {
          writeFileAtomic(o.out, states);
        } catch (e) {
          throw new Error(`${o.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        const n = (states.length - cfg.memory) / (6 + cfg.registers) - 1;
        if (!o.json) console.log(`${o.out}: ${states.length} bytes (${cfg.memory} bytes of memory, ${n + 1} state records, ${n} instructions executed)`);
      }
      if (o.json) process.stdout.write(JSON.stringify(viewStates(states, cfg)) + '\n');
      else if (!o.out) process.stdout.write(formatStates(states, cfg));
    });

  withMachine(cpu.command('evaluate'))
    .description('re-simulate every states file from its memory and first state and report byte accuracy (docs/format.md §7)')
    .argument('<paths...>', 'states files or folders (searched recursively, hidden files skipped)')
    .option('--worst <n>', 'list the n files with the lowest accuracy', '10')
    .option('--model <weights>', 'score a model instead: it predicts each file\'s states from its memory and first state (greedy)')
    .option('--json', 'print one JSON object {files, matched, total, accuracy, byField, byOpcode, byLength, worst, …}')
    .action(async (paths: string[], o: MachineOpts & { worst: string; json?: boolean; model?: string }) => {
      const cfg = machine(o);
      const progress = progressLine('evaluating');
      const predict = o.model ? modelPredictor(generativeModel(o.model)) : undefined;
      const r = await evaluateStates(paths, { ...cfg, predict, worst: num('--worst', o.worst, { int: true, min: 0 }), onProgress: (n) => progress.update(`${n} files`) });
      progress.done();
      if (o.json) console.log(JSON.stringify(r));
      else printEvaluation(r);
    });
}

/**
 * A model as a CPU simulator: the prompt is a states file's memory and first record (with the "bin" header
 * patch), the prediction is the greedy continuation up to the end patch.
 */
function modelPredictor(model: BgptModel): Predictor {
  const rng = new Rng(0);
  return (memory, first) => {
    const prompt = new Uint8Array(memory.length + first.length);
    prompt.set(memory);
    prompt.set(first, memory.length);
    return continueFile(model, prompt, 'bin', undefined, { topK: 1, topP: 1, temperature: 1, rng }).bytes;
  };
}
