/**
 * Content-type detection (docs/detect.md): a classifier over a file's first bytes — or, a detector trained on
 * them (Task.reads), its first and last bytes — told no extension, answering one of its labels — or, below a
 * confidence, a generic label as Magika does: `txt` for what reads as text, `unknown` for the rest; `empty` for
 * a file of no bytes. At most a context's worth of bytes decides: a 1 GB file costs what a 1 kB one does.
 */
import type { BgptConfig } from '../model/config.js';
import type { BgptClassifier } from '../model/classifier.js';
import { endsOf } from '../data/patches.js';
import type { Reads } from '../model/task.js';
import { looksLikeText } from '../util/looks-like-text.js';
import { classify } from './classify.js';

export interface Detection {
  /** The answer: the most probable label, or the generic one when its probability is below the threshold. */
  label: string;
  /** The probability of the most probable label. */
  p: number;
  /** The most probable labels with their probabilities, best first. */
  top: { label: string; p: number }[];
}

export interface DetectOptions {
  /** Below this probability the answer is generic (default DEFAULT_THRESHOLD). */
  threshold?: number;
  /** Labels listed in `top` (default 3). */
  top?: number;
  /** Files per forward (default 32). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_THRESHOLD = 0.5;
export const GENERIC = { text: 'txt', binary: 'unknown', empty: 'empty' } as const;

/** Bytes of a file the detector reads: its context after the header patch (reading more changes nothing). */
export function detectHeadBytes(cfg: BgptConfig): number {
  return (cfg.patchLength - 1) * cfg.patchSize;
}

/** What a detector reads of a file's bytes: its first detectHeadBytes, or with `ends` its head and tail (endsOf). */
export function detectInput(bytes: Uint8Array, cfg: BgptConfig, reads: Reads = 'head'): Uint8Array {
  return reads === 'ends' ? endsOf(bytes, cfg.patchSize, cfg.patchLength) : bytes.subarray(0, detectHeadBytes(cfg));
}

/** The content type of each file from its bytes (of which only detectInput's are read). */
export function detect(model: BgptClassifier, labels: readonly string[], files: Uint8Array[], opts: DetectOptions = {}): Detection[] {
  const inputs = files.map((b) => detectInput(b, model.cfg, model.reads));
  const cs = classify(model, labels, inputs.map((bytes) => ({ bytes, ext: '' })), { batch: opts.batch ?? 32, onProgress: opts.onProgress });
  return cs.map((c, i) => detection(c.probs, labels, inputs[i], opts));
}

/** The answer for one file's label probabilities (in label order) and what was read of it; an empty file is `empty`. */
export function detection(probs: ArrayLike<number>, labels: readonly string[], head: Uint8Array, opts: Pick<DetectOptions, 'threshold' | 'top'> = {}): Detection {
  if (head.length === 0) return { label: GENERIC.empty, p: 1, top: [] };
  const order = Array.from({ length: labels.length }, (_, j) => j).sort((x, y) => probs[y] - probs[x]);
  const p = probs[order[0]];
  const label = p >= (opts.threshold ?? DEFAULT_THRESHOLD) ? labels[order[0]] : looksLikeText(head) ? GENERIC.text : GENERIC.binary;
  return { label, p, top: order.slice(0, opts.top ?? 3).map((j) => ({ label: labels[j], p: probs[j] })) };
}
