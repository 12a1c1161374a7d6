/**
 * Classifying bytes (SPEC §4): each file's label probabilities from its first L patches, in padded batches of
 * files of similar length (padding comes last and attention is causal, so a file's result does not depend on
 * its batch).
 */
import { collate } from '../data/patches.js';
import type { BgptClassifier } from '../model/classifier.js';
import { argmax } from '../util/argmax.js';
import { inputPatches, type FileInput } from './score.js';

export interface Classification {
  /** The most probable label. */
  label: string;
  /** Index of that label. */
  index: number;
  /** Every label's probability, in label order. */
  probs: Float32Array;
  /** The logits, in label order. */
  logits: Float32Array;
}

export interface ClassifyOptions {
  /** Files per forward (default 16). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Labels (names in id order; ids as names where missing) with probabilities for each file. */
export function classify(model: BgptClassifier, labels: readonly string[], files: FileInput[], opts: ClassifyOptions = {}): Classification[] {
  const S = model.cfg.patchSize, K = model.labels, batch = opts.batch ?? 16;
  const seqs = files.map((f, i) => ({ i, patches: inputPatches(model.cfg, f, model.reads) }));
  const order = [...seqs].sort((a, b) => a.patches.length - b.patches.length);
  const out: Classification[] = new Array(files.length);
  for (let start = 0; start < order.length; start += batch) {
    const group = order.slice(start, start + batch);
    const { logits } = model.forward(collate(group.map((g) => g.patches), S));
    const probs = new Float32Array(group.length * K);
    model.k.softmax(probs, logits, group.length, K);
    group.forEach((g, b) => {
      const p = probs.slice(b * K, (b + 1) * K), index = argmax(p);
      out[g.i] = { label: labels[index] ?? String(index), index, probs: p, logits: logits.slice(b * K, (b + 1) * K) };
    });
    opts.onProgress?.(Math.min(order.length, start + batch), order.length);
  }
  return out;
}


/** Every label with its probability, as an object. */
export function probsByLabel(c: Classification, labels: readonly string[]): Record<string, number> {
  return Object.fromEntries(labels.map((l, j) => [l, c.probs[j]]));
}

/** Labels by descending probability, the first `k`. */
export function topLabels(c: Classification, labels: readonly string[], k: number): { label: string; prob: number }[] {
  return [...c.probs.keys()].sort((x, y) => c.probs[y] - c.probs[x]).slice(0, k).map((j) => ({ label: labels[j] ?? String(j), prob: c.probs[j] }));
}
