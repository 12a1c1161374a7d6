/**
 * The readable form of a states file (`bgpt cpu translate`, `bgpt cpu run`): the program as assembly lines,
 * then a table with one row per state record — step, PC, ACC, IR as assembly, the registers — and as data for
 * `--json`. Any bytes are shown: IR words that are not instructions appear as `.byte …`, and bytes after the last
 * whole record (a truncated file, a model's partial output) are listed at the end.
 */
import { disassembleAt, disassembleProgram } from './asm.js';
import { IR } from './cpu.js';
import { recordSize, registerName, type CpuConfig } from './isa.js';
import { splitStates } from './states.js';

export interface StateRow {
  pc: number;
  acc: number;
  ir: number[];
  /** IR as assembly. */
  instruction: string;
  /** R₁..R_R. */
  registers: number[];
}

export interface StatesView {
  program: string[];
  states: StateRow[];
  /** Bytes after the last whole record. */
  trailing: number[];
}

/** The states file as data. */
export function viewStates(bytes: Uint8Array, cfg: CpuConfig): StatesView {
  const { memory, rest } = splitStates(bytes, cfg);
  const rec = recordSize(cfg);
  const all = bytes.subarray(memory.length);
  const n = 1 + Math.floor(rest.length / rec);
  const states: StateRow[] = [];
  for (let k = 0; k < n; k++) {
    const r = all.subarray(k * rec, (k + 1) * rec);
    states.push({
      pc: r[0],
      acc: r[1],
      ir: Array.from(r.subarray(IR, IR + 4)),
      instruction: disassembleAt(r, IR, cfg.registers),
      registers: Array.from(r.subarray(6)),
    });
  }
  return { program: disassembleProgram(memory, cfg), states, trailing: Array.from(all.subarray(n * rec)) };
}

/** The states file as text. */
export function formatStates(bytes: Uint8Array, cfg: CpuConfig): string {
  const v = viewStates(bytes, cfg);
  const out: string[] = [];
  const n = v.program.length;
  out.push(`program (${n} instruction${n === 1 ? '' : 's'}):`);
  const aw = String(n - 1).length;
  v.program.forEach((line, i) => out.push(`  ${String(i).padStart(aw)}  ${line}`));
  out.push('');
  const sw = Math.max(4, String(v.states.length - 1).length);
  const iw = Math.max(2, ...v.states.map((s) => s.instruction.length));
  const regs = Array.from({ length: cfg.registers }, (_, i) => registerName(i + 1).padStart(3)).join(' ');
  out.push(`${'step'.padStart(sw)}   PC  ACC  ${'IR'.padEnd(iw)}  ${regs}`);
  v.states.forEach((s, k) => {
    const r = s.registers.map((x) => String(x).padStart(3)).join(' ');
    out.push(`${String(k).padStart(sw)}  ${String(s.pc).padStart(3)}  ${String(s.acc).padStart(3)}  ${s.instruction.padEnd(iw)}  ${r}`);
  });
  if (v.trailing.length) out.push(`(${v.trailing.length} byte${v.trailing.length === 1 ? '' : 's'} after the last whole record: ${v.trailing.join(' ')})`);
  return out.join('\n') + '\n';
}
