/**
 * The toy CPU of docs/format.md §7: state and one fetch/execute cycle. The state lives in a state record itself —
 * `[PC, ACC, IR0, IR1, IR2, IR3, R1 … RR]` — so recording it is one copy, and the register numbered x sits at
 * index 5 + x while "operand 0 = the accumulator" maps to index 1.
 */
import { checkConfig, MNEMONICS, OP, operandCount, recordSize, words, type CpuConfig } from './isa.js';

/** Offsets inside a state record. */
export const PC = 0, ACC = 1, IR = 2, REGS = 6;

/** A state record with PC 0, IR 0 0 0 0 and the given ACC and registers (R₁..R_R). */
export function initialRecord(cfg: CpuConfig, acc: number, registers: ArrayLike<number>): Uint8Array {
  if (registers.length !== cfg.registers) throw new Error(`expected ${cfg.registers} register values, got ${registers.length}`);
  const s = new Uint8Array(recordSize(cfg));
  s[ACC] = acc;
  s.set(registers, REGS);
  return s;
}

const sat = (v: number) => (v > 255 ? 255 : v < 0 ? 0 : v);

/** ACC (operand 0) or register x. */
const loc = (x: number) => (x === 0 ? ACC : 5 + x);

/** `a op b` for ADD..XOR (13..19): ADD, SUB, MUL saturate; DIV by 0 gives 255. */
function alu(op: number, a: number, b: number): number {
  switch (op) {
    case OP.ADD: return sat(a + b);
    case OP.SUB: return sat(a - b);
    case OP.MUL: return sat(a * b);
    case OP.DIV: return b === 0 ? 255 : Math.floor(a / b);
    case OP.AND: return a & b;
    case OP.OR: return a | b;
    default: return a ^ b; // XOR
  }
}

/**
 * Executes the instruction in the record's IR, updating ACC and registers in place. The word must be valid
 * (see `operandCount`); `simulate` checks every word before running. HLT changes nothing.
 */
export function execute(s: Uint8Array): void {
  const op = s[IR], a = s[IR + 1], b = s[IR + 2], c = s[IR + 3];
  let t: number, v: number;
  switch (op) {
    case OP.HLT: return;
    case OP.CLR: s[loc(a)] = 0; return;
    case OP.INC: t = loc(a); s[t] = sat(s[t] + 1); return;
    case OP.DEC: t = loc(a); s[t] = sat(s[t] - 1); return;
    case OP.SHL: t = loc(a); s[t] = s[t] << 1; return; // the Uint8Array store keeps the low 8 bits
    case OP.SHR: t = loc(a); s[t] = s[t] >> 1; return;
    case OP.ROL: t = loc(a); v = s[t]; s[t] = (v << 1) | (v >> 7); return;
    case OP.ROR: t = loc(a); v = s[t]; s[t] = (v >> 1) | (v << 7); return;
    case OP.NOT: t = loc(a); s[t] = ~s[t]; return;
    case OP.PUSH: s[ACC] = s[5 + a]; return;
    case OP.POP: s[5 + a] = s[ACC]; return;
    case OP.LOADI: s[ACC] = a; return;
    case OP.SWAP:
      // SWAP X: ACC ↔ X; SWAP X Y: X ↔ Y
      t = b === 0 ? ACC : 5 + b;
      v = s[t]; s[t] = s[5 + a]; s[5 + a] = v;
      return;
    case OP.MOV: s[5 + a] = s[5 + b]; return;
    default:
      // ADD..XOR: OP X → ACC = ACC op X; OP X Y → X = X op Y; OP X Y Z → Z = X op Y
      if (b === 0) s[ACC] = alu(op, s[ACC], s[5 + a]);
      else if (c === 0) s[5 + a] = alu(op, s[5 + a], s[5 + b]);
      else s[5 + c] = alu(op, s[5 + a], s[5 + b]);
  }
}

/** The instruction word at `word` as text for error messages: "op a1 a2 a3". */
function wordBytes(memory: Uint8Array, word: number): string {
  return Array.from(memory.subarray(4 * word, 4 * word + 4)).join(' ');
}

/**
 * Number of cycles a run from `pc` takes (the HLT's cycle included), checking every instruction it will
 * execute. There are no jumps, so the run is the words pc, pc+1, … up to the first HLT. Throws when a word is
 * not a valid instruction (invalid opcodes are an error, as in the published simulator, not a no-op) or when
 * no HLT comes before the last word: PC stays clamped at the last word, which would then execute forever.
 */
export function countCycles(memory: Uint8Array, pc: number, cfg: CpuConfig): number {
  const last = words(cfg) - 1;
  if (pc > last) throw new Error(`PC ${pc} is past the last instruction word (${last})`);
  for (let w = pc; w <= last; w++) {
    const i = 4 * w, op = memory[i];
    const n = operandCount(op, memory[i + 1], memory[i + 2], memory[i + 3], cfg.registers);
    if (n < 0) {
      const why = op < MNEMONICS.length ? `invalid operands for ${MNEMONICS[op]}` : `invalid opcode ${op}`;
      throw new Error(`word ${w}: ${why} (${wordBytes(memory, w)})`);
    }
    if (op === OP.HLT) return w - pc + 1;
  }
  throw new Error(`no HLT from word ${pc} to the last word ${last}: the program never halts`);
}

/**
 * Runs the CPU from `first` (a state record: its PC, ACC and registers are used; its IR is overwritten by the
 * first fetch) over `memory` and returns the records of every cycle — after fetch, before execute; the HLT's
 * record last — concatenated. These are exactly the bytes a states file holds after its first record.
 */
export function simulate(memory: Uint8Array, first: Uint8Array, cfg: CpuConfig): Uint8Array {
  checkConfig(cfg);
  const rec = recordSize(cfg);
  if (memory.length !== cfg.memory) throw new Error(`memory is ${memory.length} bytes, expected ${cfg.memory}`);
  if (first.length !== rec) throw new Error(`state record is ${first.length} bytes, expected ${rec}`);
  const cycles = countCycles(memory, first[PC], cfg);
  const out = new Uint8Array(cycles * rec);
  const s = first.slice();
  const last = words(cfg) - 1;
  for (let k = 0, o = 0; k < cycles; k++, o += rec) {
    // fetch: IR = memory[4·PC .. 4·PC+3]; PC = min(PC + 1, M/4 − 1)
    const pc = s[PC];
    s[IR] = memory[4 * pc]; s[IR + 1] = memory[4 * pc + 1]; s[IR + 2] = memory[4 * pc + 2]; s[IR + 3] = memory[4 * pc + 3];
    s[PC] = pc < last ? pc + 1 : last;
    out.set(s, o); // record, then execute
    execute(s);
  }
  return out;
}
