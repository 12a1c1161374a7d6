/**
 * Assembler and disassembler for the CPU's text form, and the program text whose MD5 names a dataset file.
 *
 * One instruction per line, as the published simulator writes them: the mnemonic, then its operands separated
 * by single spaces — registers as letters (`ADD A B C`), LOADI's immediate in decimal (`LOADI 17`); operands an
 * instruction does not use are stored as 0. A word that is not a valid instruction disassembles to
 * `.byte op a1 a2 a3`, which the assembler accepts too, so every 4-byte word round-trips.
 * The assembler is lenient where it costs nothing: any case, commas or extra spaces between operands,
 * comments after `;` or `#`, blank lines, and `0x` immediates.
 */
import { createHash } from 'node:crypto';
import { FORMS, MNEMONICS, OP, operandCount, registerName, registerNumber, words, type CpuConfig } from './isa.js';

/**
 * What joins the instruction lines of a program into the text whose MD5 names its file. The published
 * generator hashes `''.join(program)` — the lines concatenated with nothing between them (unambiguous: a line
 * starts with a mnemonic and registers are single letters) — and this follows it.
 */
export const PROGRAM_TEXT_JOINER = '';

const OPCODE_BY_NAME = new Map(MNEMONICS.map((m, i) => [m, i]));

/** The text of one instruction word (`.byte …` when it is not a valid instruction of an R-register CPU). */
export function disassemble(op: number, a1: number, a2: number, a3: number, registers: number): string {
  const n = operandCount(op, a1, a2, a3, registers);
  if (n < 0) return `.byte ${op} ${a1} ${a2} ${a3}`;
  const m = MNEMONICS[op];
  if (op === OP.LOADI) return `${m} ${a1}`;
  if (n === 0) return m;
  if (n === 1) return `${m} ${registerName(a1)}`;
  if (n === 2) return `${m} ${registerName(a1)} ${registerName(a2)}`;
  return `${m} ${registerName(a1)} ${registerName(a2)} ${registerName(a3)}`;
}

/** The word at byte offset `at` of `bytes` as text. */
export function disassembleAt(bytes: Uint8Array, at: number, registers: number): string {
  return disassemble(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3], registers);
}

/**
 * The program in memory as assembly lines: the words from address 0 up to and including the first HLT (as the
 * published `back_translate_program` keeps one HLT); every word when there is no HLT.
 */
export function disassembleProgram(memory: Uint8Array, cfg: CpuConfig): string[] {
  const lines: string[] = [];
  for (let w = 0; w < words(cfg); w++) {
    const i = 4 * w;
    lines.push(disassembleAt(memory, i, cfg.registers));
    if (memory[i] === OP.HLT && memory[i + 1] === 0 && memory[i + 2] === 0 && memory[i + 3] === 0) break;
  }
  return lines;
}

/** The text hashed for the file name: the lines joined by PROGRAM_TEXT_JOINER. */
export function programText(lines: readonly string[]): string {
  return lines.join(PROGRAM_TEXT_JOINER);
}

/** MD5 (lower-case hex) of the program text: a generated file is `<md5>.bin`. */
export function programMd5(lines: readonly string[]): string {
  return createHash('md5').update(programText(lines)).digest('hex');
}

function parseByte(tok: string, what: string): number {
  const v = /^(0x[0-9a-f]+|[0-9]+)$/i.test(tok) ? Number(tok) : NaN;
  if (!(v >= 0 && v <= 255)) throw new Error(`${what} must be a number 0..255, got '${tok}'`);
  return v;
}

/** One line of assembly → its 4 bytes, or null for a blank or comment-only line. Throws a message without a place. */
export function assembleLine(line: string, registers: number): [number, number, number, number] | null {
  const code = line.replace(/[;#].*$/, '').trim();
  if (code === '') return null;
  const [name, ...args] = code.split(/[\s,]+/);
  const mnem = name.toUpperCase();
  if (mnem === '.BYTE') {
    if (args.length !== 4) throw new Error(`.byte needs 4 bytes, got ${args.length}`);
    const b = args.map((a) => parseByte(a, '.byte value'));
    return [b[0], b[1], b[2], b[3]];
  }
  const op = OPCODE_BY_NAME.get(mnem);
  if (op === undefined) throw new Error(`unknown instruction '${name}'`);
  const forms = FORMS[op];
  if (!forms.includes(args.length)) {
    const want = forms.length === 1 ? String(forms[0]) : `${forms.slice(0, -1).join(', ')} or ${forms[forms.length - 1]}`;
    throw new Error(`${mnem} takes ${want} operand${forms.length === 1 && forms[0] === 1 ? '' : 's'}, got ${args.length}`);
  }
  const out: [number, number, number, number] = [op, 0, 0, 0];
  args.forEach((a, i) => {
    if (op === OP.LOADI) out[1] = parseByte(a, 'LOADI immediate');
    else {
      const r = registerNumber(a, registers);
      if (r === 0) throw new Error(`'${a}' is not a register (A..${registerName(registers)})`);
      out[i + 1] = r;
    }
  });
  return out;
}

/**
 * Assembles a program into a fresh memory image (zeros after the program; a zero word is HLT, so a program
 * without a final HLT still halts unless it fills the memory). Errors read `<source>:<line>: <problem>`.
 */
export function assemble(text: string, cfg: CpuConfig, source = '<program>'): Uint8Array {
  const memory = new Uint8Array(cfg.memory);
  let w = 0;
  text.split(/\r?\n/).forEach((line, i) => {
    let bytes;
    try {
      bytes = assembleLine(line, cfg.registers);
    } catch (e) {
      throw new Error(`${source}:${i + 1}: ${(e as Error).message}`);
    }
    if (!bytes) return;
    if (w >= words(cfg)) throw new Error(`${source}:${i + 1}: the program does not fit in ${cfg.memory} bytes of memory (${words(cfg)} words)`);
    memory.set(bytes, 4 * w++);
  });
  if (w === 0) throw new Error(`${source}: no instructions`);
  return memory;
}
