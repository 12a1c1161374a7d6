/**
 * CPU state accuracy (docs/format.md §7): for each states file, re-simulate from its memory and first record and compare
 * every byte after the first record with the simulation; accuracy = matched / total, where total is the number
 * of simulated bytes and a byte the prediction lacks counts as wrong. Bytes predicted beyond the simulation's end
 * are not counted (as in the published evaluation) but are reported as `extraBytes`.
 *
 * What is compared is, by default, the file's own bytes (checking a dataset, or files a model wrote); with a
 * `Predictor` it is the predictor's output for the file's memory and first record — a model plugs in here
 * (prompt = memory + first record, generation until the end patch).
 *
 * Breakdowns: per field, byte j of every record counts for its field (PC, ACC, IR0…IR3, the registers A, B, …),
 * so a model that steps the PC but does not carry the registers shows it at a glance; per opcode, every record's
 * bytes count for the instruction whose execution produced it — the record after `OP …` was fetched shows OP's
 * effect on ACC and the registers, plus the next fetch (PC, IR); the first record after the initial one comes
 * from the first fetch alone and counts under `(start)`. Per length,
 * files are grouped by the number of executed instructions (the program length, HLT included, for files that
 * start at PC 0, as every generated file does).
 */
import { walkFiles } from '../data/files.js';
import { IR, simulate } from './cpu.js';
import { checkConfig, MNEMONICS, recordSize, type CpuConfig } from './isa.js';
import { fieldName, readStates } from './states.js';

/** Predicts a file's bytes after its first record from its memory and first record. May be async. */
export type Predictor = (memory: Uint8Array, firstRecord: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** The simulator as a predictor (always right). */
export function simulationPredictor(cfg: CpuConfig): Predictor {
  return (memory, first) => simulate(memory, first, cfg);
}

export interface Tally {
  matched: number;
  total: number;
  accuracy: number;
}

export interface FileScore {
  path: string;
  /** Executed instructions (HLT included). */
  length: number;
  matched: number;
  total: number;
  accuracy: number;
  /** Predicted bytes after the simulation's end (not counted in accuracy). */
  extraBytes: number;
  /** The first wrong byte: record index in the file (0 = the initial record), field, simulated and predicted values (null = missing). */
  firstMismatch: { record: number; field: string; expected: number; got: number | null } | null;
}

export interface EvaluateResult {
  files: number;
  matched: number;
  total: number;
  accuracy: number;
  extraBytes: number;
  /** Files with at least one wrong byte. */
  filesWithErrors: number;
  /** By field of the state record (PC, ACC, IR0..IR3, A, B, …), in record order. */
  byField: Record<string, Tally>;
  /** By mnemonic (and `(start)`), in opcode order. */
  byOpcode: Record<string, Tally>;
  /** By executed instructions, ascending. */
  byLength: Record<string, Tally & { files: number }>;
  /** The files with the lowest accuracy (only files with errors), worst first. */
  worst: FileScore[];
}

export interface EvaluateOptions extends CpuConfig {
  predict?: Predictor;
  /** How many of the worst files to list (default 10). */
  worst?: number;
  onProgress?: (files: number) => void;
}

const START = '(start)';

/**
 * Scores one prediction against the simulation; adds per-opcode counts into `byOpcode` (indexed by opcode, START
 * last) and per-field counts into `byField` (matched, total for record byte j at 2j, 2j + 1).
 */
export function scorePrediction(truth: Uint8Array, predicted: Uint8Array, cfg: CpuConfig, byOpcode?: Float64Array[], byField?: Float64Array):
  Omit<FileScore, 'path'> {
  const rec = recordSize(cfg);
  let matched = 0;
  let firstMismatch: FileScore['firstMismatch'] = null;
  const records = truth.length / rec;
  for (let k = 0; k < records; k++) {
    let m = 0;
    for (let j = 0, i = k * rec; j < rec; j++, i++) {
      const ok = i < predicted.length && predicted[i] === truth[i];
      if (byField) {
        byField[2 * j] += ok ? 1 : 0;
        byField[2 * j + 1]++;
      }
      if (ok) m++;
      else if (!firstMismatch) firstMismatch = { record: k + 1, field: fieldName(j), expected: truth[i], got: i < predicted.length ? predicted[i] : null };
    }
    matched += m;
    if (byOpcode) {
      const t = byOpcode[k === 0 ? MNEMONICS.length : truth[(k - 1) * rec + IR]];
      t[0] += m;
      t[1] += rec;
    }
  }
  const total = truth.length;
  return {
    length: records, matched, total, accuracy: total ? matched / total : 1,
    extraBytes: Math.max(0, predicted.length - total), firstMismatch,
  };
}

const tally = (matched: number, total: number): Tally => ({ matched, total, accuracy: total ? matched / total : 1 });

/** Evaluates every file under `paths` (files or folders, searched recursively, hidden files skipped). */
export async function evaluateStates(paths: string[], o: EvaluateOptions): Promise<EvaluateResult> {
  const cfg: CpuConfig = { registers: o.registers, memory: o.memory };
  checkConfig(cfg);
  const keep = o.worst ?? 10;
  const byOpcode = Array.from({ length: MNEMONICS.length + 1 }, () => new Float64Array(2));
  const byField = new Float64Array(2 * recordSize(cfg));
  const byLength = new Map<number, { matched: number; total: number; files: number }>();
  const worst: FileScore[] = [];
  let files = 0, matched = 0, total = 0, extraBytes = 0, filesWithErrors = 0;
  for (const path of walkFiles(paths)) {
    const { memory, first, rest } = readStates(path, cfg);
    let truth: Uint8Array;
    try {
      truth = simulate(memory, first, cfg);
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    let predicted = rest;
    if (o.predict) {
      const p = o.predict(memory.slice(), first.slice());
      predicted = p instanceof Promise ? await p : p;
    }
    const s = scorePrediction(truth, predicted, cfg, byOpcode, byField);
    files++;
    matched += s.matched;
    total += s.total;
    extraBytes += s.extraBytes;
    const l = byLength.get(s.length) ?? { matched: 0, total: 0, files: 0 };
    l.matched += s.matched; l.total += s.total; l.files++;
    byLength.set(s.length, l);
    if (s.matched < s.total) {
      filesWithErrors++;
      // keep the `keep` lowest accuracies (insertion into a short sorted list; ties keep walk order)
      if (keep > 0 && (worst.length < keep || s.accuracy < worst[worst.length - 1].accuracy)) {
        let at = worst.length;
        while (at > 0 && worst[at - 1].accuracy > s.accuracy) at--;
        worst.splice(at, 0, { path, ...s });
        if (worst.length > keep) worst.pop();
      }
    }
    o.onProgress?.(files);
  }
  if (files === 0) throw new Error(`${paths.join(', ')}: no files found`);
  const ops: Record<string, Tally> = {};
  for (let op = 0; op <= MNEMONICS.length; op++) {
    const [m, t] = byOpcode[op];
    if (t > 0) ops[op === MNEMONICS.length ? START : MNEMONICS[op]] = tally(m, t);
  }
  const fields: Record<string, Tally> = {};
  for (let j = 0; j < recordSize(cfg); j++) fields[fieldName(j)] = tally(byField[2 * j], byField[2 * j + 1]);
  const lens: Record<string, Tally & { files: number }> = {};
  for (const n of [...byLength.keys()].sort((a, b) => a - b)) {
    const l = byLength.get(n)!;
    lens[n] = { ...tally(l.matched, l.total), files: l.files };
  }
  return { files, matched, total, accuracy: total ? matched / total : 1, extraBytes, filesWithErrors, byField: fields, byOpcode: ops, byLength: lens, worst };
}
