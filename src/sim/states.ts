/**
 * The states file (docs/format.md §7): the M memory bytes, then the initial state record (PC 0, IR 0 0 0 0), then one
 * record per executed instruction taken after fetch and before execute, the HLT's record last. A record is
 * `PC, ACC, IR[0..3], R₁..R_R` (6 + R bytes; 16 = one patch with the default 10 registers).
 */
import { readFileSync } from 'node:fs';
import { simulate } from './cpu.js';
import { recordSize, registerName, type CpuConfig } from './isa.js';

/** A states file cut into its parts (views into the file's bytes). */
export interface StatesParts {
  memory: Uint8Array;
  /** The first (initial) state record. */
  first: Uint8Array;
  /** Everything after the first record: the records of the executed cycles (possibly a partial last one). */
  rest: Uint8Array;
}

/** Splits a states file; throws when it is too short to hold the memory and the first record. */
export function splitStates(bytes: Uint8Array, cfg: CpuConfig): StatesParts {
  const rec = recordSize(cfg), head = cfg.memory + rec;
  if (bytes.length < head) {
    throw new Error(`${bytes.length} bytes, too short for ${cfg.memory} bytes of memory and a ${rec}-byte state record`);
  }
  return { memory: bytes.subarray(0, cfg.memory), first: bytes.subarray(cfg.memory, head), rest: bytes.subarray(head) };
}

/** Joins memory, first record and the following records into a states file. */
export function joinStates(memory: Uint8Array, first: Uint8Array, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(memory.length + first.length + rest.length);
  out.set(memory, 0);
  out.set(first, memory.length);
  out.set(rest, memory.length + first.length);
  return out;
}

/** Runs the program in `memory` from the initial record and returns the whole states file. */
export function runStates(memory: Uint8Array, first: Uint8Array, cfg: CpuConfig): Uint8Array {
  return joinStates(memory, first, simulate(memory, first, cfg));
}

/** Reads and splits a states file; errors name the file. */
export function readStates(path: string, cfg: CpuConfig): StatesParts {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a states file' : (e as Error).message}`);
  }
  try {
    return splitStates(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), cfg);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Name of byte `i` (0 ≤ i < 6 + R) of a state record: PC, ACC, IR0..IR3 or a register letter. */
export function fieldName(i: number): string {
  return i === 0 ? 'PC' : i === 1 ? 'ACC' : i < 6 ? `IR${i - 2}` : registerName(i - 5);
}
