/**
 * The server's scoring and classifying of request bodies: the task layer's (api/), several bodies in one
 * padded forward, and the patches each body takes (for the scheduler's batch budget).
 */
import { classify } from '../api/classify.js';
import { score, type FileInput } from '../api/score.js';
import { filePatches, truncate } from '../data/patches.js';
import type { BgptModel } from '../model/bgpt.js';
import type { BgptClassifier } from '../model/classifier.js';
import type { BgptConfig } from '../model/config.js';

export type { FileInput } from '../api/score.js';

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
  return truncate(filePatches(f.bytes, f.ext ?? '', cfg.patchSize), cfg.patchSize, cfg.patchLength, 'head');
}

export function scoreFiles(model: BgptModel, files: FileInput[]): Score[] {
  // one forward for the whole batch the scheduler gathered
  return score(model, files, { maxTokens: Infinity }).files.map(({ loss, bpb, bytes }) => ({ loss, bpb, bytes }));
}

export function classifyFiles(model: BgptClassifier, labels: string[], files: FileInput[]): ClassProbs[] {
  return classify(model, labels, files, { batch: files.length }).map((c) => ({ label: c.label, probs: Object.fromEntries(labels.map((l, j) => [l, c.probs[j]])) }));
}
