/**
 * Scoring and classifying several request bodies in one padded forward. Padding sits after each file's
 * patches and attention is causal, so every file gets the numbers it would get alone (SPEC §3, §4; head
 * truncation as `bgpt eval` and `bgpt classify`).
 */
import { collate, filePatches, truncate } from '../data/patches.js';
import type { BgptModel } from '../model/bgpt.js';
import type { BgptClassifier } from '../model/classifier.js';
import type { BgptConfig } from '../model/config.js';

export interface FileInput {
  bytes: Uint8Array;
  ext: string;
}

export interface Score {
  /** Mean cross-entropy in nats per predicted token. */
  loss: number;
  bpb: number;
  bytes: number;
}

export interface ClassProbs {
  label: string;
  probs: Record<string, number>;
}

/** The patches the model reads for a file: header, data, end patch, cut to the first L. */
export function inputPatches(cfg: BgptConfig, f: FileInput): Int32Array {
  return truncate(filePatches(f.bytes, f.ext, cfg.patchSize), cfg.patchSize, cfg.patchLength, 'head');
}

export function scoreFiles(model: BgptModel, files: FileInput[]): Score[] {
  const r = model.forward(collate(files.map((f) => inputPatches(model.cfg, f)), model.cfg.patchSize), { perSequence: true });
  return files.map((f, b) => {
    const loss = r.perSequence!.sum[b] / r.perSequence!.tokens[b];
    return { loss, bpb: loss / Math.LN2, bytes: f.bytes.length };
  });
}

export function classifyFiles(model: BgptClassifier, labels: string[], files: FileInput[]): ClassProbs[] {
  const K = model.labels;
  const { logits } = model.forward(collate(files.map((f) => inputPatches(model.cfg, f)), model.cfg.patchSize));
  const probs = new Float32Array(files.length * K);
  model.k.softmax(probs, logits, files.length, K);
  return files.map((_, b) => {
    const p = probs.subarray(b * K, (b + 1) * K);
    let best = 0;
    for (let j = 1; j < K; j++) if (p[j] > p[best]) best = j;
    return { label: labels[best], probs: Object.fromEntries(labels.map((l, j) => [l, p[j]])) };
  });
}
