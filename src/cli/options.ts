/** Option parsing shared by commands: numbers with clear errors, sampling flags, model loading. */
import type { Command } from 'commander';
import { getKernels } from '../backend/index.js';
import { loadModelFile, type LoadedModel } from '../io/weights.js';
import type { BgptModel } from '../model/bgpt.js';
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

export function loadModel(path: string): LoadedModel {
  return loadModelFile(getKernels(), path);
}

export function generativeModel(path: string): BgptModel {
  const m = loadModel(path);
  if (m.task !== 'generative') throw new Error(`${path}: a classification model; this command needs a generative one`);
  return m.model;
}

/** Label names of a classifier (ids as names when the weights carry no label list). */
export function labelNames(m: LoadedModel): string[] {
  const labels = (m as { labels?: string[] }).labels;
  if (m.task !== 'classification') return [];
  return labels && labels.length === m.model.labels ? labels : [...Array(m.model.labels).keys()].map(String);
}
