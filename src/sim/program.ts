/**
 * Random programs and initial states for dataset generation (docs/format.md §7), drawn as the published generator draws
 * them: per file the initial ACC, then the registers, then the program length n uniform in [min, max], then n−1
 * instructions and HLT. Each instruction: an opcode uniform over CLR..MOV; LOADI an immediate uniform in 0..255;
 * any other opcode one of its allowed operand counts uniformly, then each register uniformly in 1..R.
 */
import type { Rng } from '../util/rng.js';
import { ACC, REGS } from './cpu.js';
import { FORMS, MNEMONICS, NUM_OPCODES, OP } from './isa.js';

/**
 * Relative weights of the opcodes CLR..MOV for a training set that shows some instructions more often than the
 * published uniform draw (index 0, HLT, unused). Built by `parseOpWeights`; absent means uniform, drawn exactly as
 * published.
 */
export type OpWeights = Float64Array;

/** Parses "XOR=3,ADD=2" (mnemonics, case-insensitive; the rest weigh 1) into cumulative weights over CLR..MOV. */
export function parseOpWeights(spec: string): OpWeights {
  const w = new Float64Array(NUM_OPCODES).fill(1);
  w[OP.HLT] = 0;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]+)\s*[=:]\s*(\d+(?:\.\d+)?)$/.exec(part);
    const op = m ? MNEMONICS.indexOf(m[1].toUpperCase()) : -1;
    if (!m || op < 1) throw new Error(`opcode weights: "${part}" is not MNEMONIC=WEIGHT with a mnemonic from CLR..MOV (e.g. XOR=3)`);
    w[op] = Number(m[2]);
  }
  let sum = 0;
  for (let op = 1; op < NUM_OPCODES; op++) w[op] = sum += w[op];
  if (!(sum > 0)) throw new Error('opcode weights: at least one opcode must weigh more than 0');
  return w;
}

function drawOpcode(rng: Rng, weights: OpWeights | undefined): number {
  if (!weights) return 1 + rng.int(NUM_OPCODES - 1);
  const r = rng.next() * weights[NUM_OPCODES - 1];
  let op = 1;
  while (op < NUM_OPCODES - 1 && weights[op] <= r) op++;
  return op;
}

/**
 * Draws one instruction into `out` at byte offset `at` (operands it does not use stay 0); the opcode uniformly, or
 * by `weights`.
 */
export function randomInstruction(rng: Rng, registers: number, out: Uint8Array, at: number, weights?: OpWeights): void {
  const op = drawOpcode(rng, weights);
  out[at] = op;
  out[at + 1] = 0; out[at + 2] = 0; out[at + 3] = 0;
  if (op === OP.LOADI) {
    out[at + 1] = rng.int(256);
    return;
  }
  const forms = FORMS[op];
  const n = forms.length === 1 ? forms[0] : forms[rng.int(forms.length)];
  for (let i = 1; i <= n; i++) out[at + i] = 1 + rng.int(registers);
}

/**
 * Fills `memory` with a random program of n instructions (n−1 random, then HLT) and zeros after it.
 * `memory` must hold at least 4·n bytes.
 */
export function randomProgram(rng: Rng, n: number, registers: number, memory: Uint8Array, weights?: OpWeights): void {
  if (n < 1 || 4 * n > memory.length) throw new Error(`a program of ${n} instructions does not fit in ${memory.length} bytes`);
  for (let w = 0; w < n - 1; w++) randomInstruction(rng, registers, memory, 4 * w, weights);
  memory.fill(0, 4 * (n - 1)); // HLT and the empty memory after it
}

/** Random initial state into a state record: PC 0, IR 0 0 0 0, ACC and registers uniform in 0..255. */
export function randomInitialState(rng: Rng, record: Uint8Array): void {
  record.fill(0);
  record[ACC] = rng.int(256);
  for (let i = REGS; i < record.length; i++) record[i] = rng.int(256);
}

/**
 * One dataset example in the published order of draws: initial state, length in [minLength, maxLength], program.
 * Returns the program length.
 */
export function randomExample(
  rng: Rng, registers: number, minLength: number, maxLength: number, memory: Uint8Array, record: Uint8Array, weights?: OpWeights,
): number {
  randomInitialState(rng, record);
  const n = minLength + rng.int(maxLength - minLength + 1);
  randomProgram(rng, n, registers, memory, weights);
  return n;
}
