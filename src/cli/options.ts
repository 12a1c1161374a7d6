/** Option parsing shared by commands: numbers with clear errors, sampling flags, model loading. */
import type { Command } from 'commander';
import { cpus } from 'node:os';
import { bf16Support } from '../backend/bf16.js';
import { getKernels, getNativeInfo } from '../backend/index.js';
import { PRECISIONS, loadModelFile, type LoadedModel, type Precision } from '../io/weights.js';
import type { BgptModel } from '../model/bgpt.js';
import type { ModelKind } from '../model/task.js';
import { DEFAULT_DETECTOR, modelPathOr } from '../io/default-model.js';
import { checkSampling, type SamplingOptions } from '../model/sampling.js';

export function num(name: string, v: string | undefined, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : ''].filter(Boolean).join(' and ');
    throw new Error(`${name} must be ${opts.int ? 'a whole number' : 'a number'}${range ? ` ${range}` : ''}, not "${v}"`);
  }
  return n;
}

export interface SamplingFlags {
  topK: string;
  topP: string;
  temperature: string;
  seed?: string;
}

export function addSamplingOptions(c: Command): Command {
  return c
    .option('--top-k <k>', 'keep the k most probable bytes (0 = off)', '0')
    .option('--top-p <p>', 'keep the smallest set of bytes whose probability reaches p (1 = off)', '1')
    .option('--temperature <t>', 'divide the log-probabilities by t (1 = off)', '1')
    .option('--seed <n>', 'random seed (default: from the clock)');
}

export function samplingOf(f: SamplingFlags): SamplingOptions & { seed: number } {
  const o = { topK: num('--top-k', f.topK, { int: true, min: 0 }), topP: num('--top-p', f.topP), temperature: num('--temperature', f.temperature) };
  checkSampling(o);
  const seed = f.seed === undefined ? Date.now() % 2 ** 31 : num('--seed', f.seed, { int: true });
  return { ...o, seed };
}

/** What `--model` says where it may be left out. */
export const DEFAULT_MODEL_NOTE = '(default: the shipped base model, models/base.safetensors)';

/** `--precision`: how inference keeps the matrix weights (default: as the file has them, precisionOf). */
export function addPrecisionOption(c: Command): Command {
  return c.option('--precision <p>', `matrix weights for inference: ${PRECISIONS.join(', ')} (bf16, f16: 16-bit weights, fp32 arithmetic; bf16-dot: bf16 weights and bf16 products, on the CPU\'s bf16 dot-product instructions where it has them; default: as stored in the file)`);
}

export function precisionOf(v: string | undefined): Precision | 'auto' {
  if (v === undefined) return 'auto';
  if (!(PRECISIONS as readonly string[]).includes(v)) throw new Error(`--precision "${v}" is not supported; supported: ${PRECISIONS.join(', ')} (bf16 and f16 keep weights in 16 bits and compute in fp32; bf16-dot also rounds activations to bf16)`);
  return v as Precision;
}

/** bf16Support for this machine and backend (backend/bf16.ts), with the emulation switch given. */
export function bf16Here(emulate: boolean): ReturnType<typeof bf16Support> {
  const n = getKernels().name === 'native' ? getNativeInfo() : null;
  return bf16Support(n && { features: n.cpu, onednn: n.bf16, cpu: cpus()[0]?.model.trim() ?? 'unknown' }, emulate);
}

/**
 * Whether training with bf16 products can run on this machine: returns how it runs, or throws the one-line
 * refusal (a CPU without avx512_bf16 or AMX, unless BGPT_BF16_EMULATE=1).
 */
export function bf16Check(): string {
  const r = bf16Here(process.env.BGPT_BF16_EMULATE === '1');
  if (!r.ok) throw new Error(r.reason);
  return r.how;
}

/** The model named by --model (the shipped base model when none is), on the default backend; `precision` as --precision (default fp32). */
export function loadModel(path: string | undefined, precision: Precision | 'auto' = 'fp32'): LoadedModel {
  return loadModelFile(getKernels(), modelPathOr(path), { precision });
}

export function generativeModel(path: string | undefined, precision: Precision | 'auto' = 'fp32'): BgptModel {
  const m = loadModel(path, precision);
  if (m.kind !== 'generative') throw new Error(`${modelPathOr(path)}: a classification model; this command needs a generative one`);
  return m.model;
}

/** The detector named by --model, or the shipped one; its 16-bit weights kept as the file has them. */
export function detectorModel(named: string | undefined): LoadedModel & { kind: 'classification' } {
  const path = modelPathOr(named, DEFAULT_DETECTOR);
  const m = loadModelFile(getKernels(), path, { precision: 'auto' });
  if (m.kind !== 'classification') throw new Error(`${path}: a generative model; detect needs a classification model`);
  return m;
}

/** --task: gen (or generative) and cls (or classification) name the two kinds of model. */
export function taskFlag(v: string): ModelKind {
  if (v === 'gen' || v === 'generative') return 'generative';
  if (v === 'cls' || v === 'classification') return 'classification';
  throw new Error(`--task must be gen or cls, not "${v}"`);
}
