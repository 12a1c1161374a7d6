/**
 * The toy CPU's instruction set (docs/format.md §7): opcodes, the operand forms each one allows, register names and the
 * machine size. An instruction is 4 bytes `op a1 a2 a3`; operands an instruction does not use are 0, as in the
 * published bGPT CPU dataset.
 */

/** Opcode numbers, as in docs/format.md §7 and the published simulator. */
export const OP = {
  HLT: 0, CLR: 1, INC: 2, DEC: 3, SHL: 4, SHR: 5, ROL: 6, ROR: 7, NOT: 8,
  PUSH: 9, POP: 10, LOADI: 11, SWAP: 12,
  ADD: 13, SUB: 14, MUL: 15, DIV: 16, AND: 17, OR: 18, XOR: 19,
  MOV: 20,
} as const;

/** Mnemonics indexed by opcode. */
export const MNEMONICS: readonly string[] = Object.keys(OP);

/** Number of valid opcodes (0..NUM_OPCODES−1); every other opcode byte is an invalid instruction. */
export const NUM_OPCODES = MNEMONICS.length;

/**
 * Allowed operand counts per opcode (docs/format.md §7). CLR..NOT act on ACC with 0 operands, on X with 1; LOADI's one
 * operand is an immediate byte, every other operand is a register number 1..R.
 */
export const FORMS: readonly (readonly number[])[] = [
  [0], // HLT
  [0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [0, 1], // CLR INC DEC SHL SHR ROL ROR NOT
  [1], [1], [1], // PUSH POP LOADI
  [1, 2], // SWAP
  [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], // ADD SUB MUL DIV AND OR XOR
  [2], // MOV
];

/** Machine size: R registers and M bytes of memory. */
export interface CpuConfig {
  registers: number;
  memory: number;
}

/** The published dataset's machine: 10 registers, 1 KiB memory (a 16-byte state record = one patch). */
export const DEFAULT_CONFIG: Readonly<CpuConfig> = { registers: 10, memory: 1024 };

/** Most registers: they are named by one letter A..Z (a longer name would make the program text ambiguous). */
export const MAX_REGISTERS = 26;
/** Most memory: PC is one byte in the state record, so there are at most 256 instruction words. */
export const MAX_MEMORY = 1024;

/** Throws unless the machine can be encoded in the state file format. */
export function checkConfig(cfg: CpuConfig): void {
  const { registers: r, memory: m } = cfg;
  if (!Number.isInteger(r) || r < 1 || r > MAX_REGISTERS) throw new Error(`registers must be an integer in 1..${MAX_REGISTERS} (got ${r})`);
  if (!Number.isInteger(m) || m < 4 || m > MAX_MEMORY || m % 4 !== 0) {
    throw new Error(`memory must be a multiple of 4 in 4..${MAX_MEMORY} bytes (got ${m})`);
  }
}

/** Bytes in one state record: PC, ACC, IR[0..3], R₁..R_R. */
export function recordSize(cfg: CpuConfig): number {
  return 6 + cfg.registers;
}

/** Instruction words in memory; PC never goes past `words(cfg) − 1`. */
export function words(cfg: CpuConfig): number {
  return cfg.memory >> 2;
}

/** Register number 1..26 → letter A..Z. */
export function registerName(n: number): string {
  return String.fromCharCode(64 + n);
}

/** Letter (either case) → register number, or 0 when it is not a register of an R-register machine. */
export function registerNumber(name: string, registers: number): number {
  if (name.length !== 1) return 0;
  const n = (name.charCodeAt(0) | 0x20) - 96; // 'a' / 'A' → 1
  return n >= 1 && n <= registers ? n : 0;
}

/**
 * The operand count of a valid instruction word, or −1 when the word is invalid: an unknown opcode, an operand
 * count the opcode does not allow, a register outside 1..R, or a non-zero byte after the last operand. The count
 * is the number of leading non-zero operands (the published simulator decodes the form the same way: a2 = 0
 * means one operand, a3 = 0 two), except LOADI whose immediate may be 0.
 */
export function operandCount(op: number, a1: number, a2: number, a3: number, registers: number): number {
  if (op >= NUM_OPCODES) return -1;
  if (op === OP.LOADI) return a2 === 0 && a3 === 0 ? 1 : -1;
  const n = a1 === 0 ? (a2 | a3 ? -1 : 0) : a2 === 0 ? (a3 ? -1 : 1) : a3 === 0 ? 2 : 3;
  if (n < 0 || !FORMS[op].includes(n)) return -1;
  if ((n >= 1 && a1 > registers) || (n >= 2 && a2 > registers) || (n >= 3 && a3 > registers)) return -1;
  return n;
}
