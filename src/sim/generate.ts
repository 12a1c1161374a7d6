/**
 * The CPU states dataset writer: `DIR/train/<md5>.bin` and `DIR/test/<md5>.bin`, one random program per file,
 * named by the MD5 of its program text (see asm.ts). Streaming: each file is drawn, simulated and written before
 * the next, with buffers reused, so memory stays flat however many files are made; the file system itself is the
 * set of names already used.
 *
 * Duplicates: a program whose name already exists in its split is not written again (the published generator
 * silently overwrote it, so its splits hold fewer files than asked); it is counted and another program is drawn,
 * so every split gets exactly the number of files asked for. A test program that already exists in train is
 * redrawn the same way, so the test split never repeats a training program. Splits must start empty.
 */
import { closeSync, existsSync, mkdirSync, opendirSync, openSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../util/rng.js';
import { programMd5, disassembleProgram } from './asm.js';
import { simulate } from './cpu.js';
import { checkConfig, recordSize, words, type CpuConfig } from './isa.js';
import { randomExample, type OpWeights } from './program.js';

export interface GenerateOptions extends CpuConfig {
  /** Output folder (created); its train/ and test/ must be empty or absent. */
  out: string;
  train: number;
  test: number;
  /** Program lengths in instructions, HLT included (published: 1..255). */
  minProgram: number;
  maxProgram: number;
  seed: number;
  /**
   * Opcode weights for the training split only (`parseOpWeights`): more examples of the instructions a model finds
   * hard. The test split is always drawn as published, so accuracy on it stays comparable.
   */
  trainOpWeights?: OpWeights;
  /** Called every few hundred files and at the end of each split. */
  onProgress?: (split: 'train' | 'test', done: number, total: number) => void;
}

export interface GenerateResult {
  train: number;
  test: number;
  /** Programs drawn again because their name was taken (same split, or train for a test program). */
  duplicates: { train: number; test: number };
  seconds: number;
}

/** Draws that may come out as duplicates in a row before giving up (too few distinct programs exist). */
const MAX_DUPLICATES_IN_A_ROW = 10000;

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number ≥ 0 (got ${v})`);
}

function checkEmpty(dir: string): void {
  const d = opendirSync(dir);
  try {
    if (d.readSync() !== null) throw new Error(`${dir}: not empty (generate writes into an empty folder)`);
  } finally {
    d.closeSync();
  }
}

/** Writes the dataset; see the file comment. Same options and seed → the same files, byte for byte. */
export function generateDataset(o: GenerateOptions): GenerateResult {
  const cfg: CpuConfig = { registers: o.registers, memory: o.memory };
  checkConfig(cfg);
  checkCount('train', o.train);
  checkCount('test', o.test);
  const max = words(cfg);
  if (!Number.isInteger(o.minProgram) || !Number.isInteger(o.maxProgram) || o.minProgram < 1 || o.maxProgram < o.minProgram || o.maxProgram > max) {
    throw new Error(`program lengths must satisfy 1 ≤ min ≤ max ≤ ${max} (memory/4), got ${o.minProgram}..${o.maxProgram}`);
  }
  const dirs = { train: join(o.out, 'train'), test: join(o.out, 'test') };
  for (const d of [dirs.train, dirs.test]) {
    try {
      mkdirSync(d, { recursive: true });
    } catch (e) {
      throw new Error(`${d}: cannot create folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    checkEmpty(d);
  }

  const t0 = performance.now();
  const rng = new Rng(o.seed);
  const memory = new Uint8Array(cfg.memory);
  const first = new Uint8Array(recordSize(cfg));
  const duplicates = { train: 0, test: 0 };
  for (const split of ['train', 'test'] as const) {
    const total = o[split];
    let inARow = 0;
    for (let done = 0; done < total;) {
      randomExample(rng, cfg.registers, o.minProgram, o.maxProgram, memory, first, split === 'train' ? o.trainOpWeights : undefined);
      const name = `${programMd5(disassembleProgram(memory, cfg))}.bin`;
      const path = join(dirs[split], name);
      let fd = -1;
      if (!(split === 'test' && existsSync(join(dirs.train, name)))) {
        try {
          fd = openSync(path, 'wx'); // O_EXCL: fails when this program was already written
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${path}: ${(e as Error).message}`);
        }
      }
      if (fd < 0) {
        duplicates[split]++;
        if (++inARow >= MAX_DUPLICATES_IN_A_ROW) {
          throw new Error(`${dirs[split]}: ${inARow} duplicate programs in a row after ${done} files: too few distinct programs of ${o.minProgram}..${o.maxProgram} instructions for --${split} ${total}`);
        }
        continue;
      }
      inARow = 0;
      try {
        writevSync(fd, [memory, first, simulate(memory, first, cfg)]);
      } catch (e) {
        throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      } finally {
        closeSync(fd);
      }
      done++;
      if ((done & 255) === 0) o.onProgress?.(split, done, total);
    }
    o.onProgress?.(split, total, total);
  }
  return { train: o.train, test: o.test, duplicates, seconds: (performance.now() - t0) / 1000 };
}
