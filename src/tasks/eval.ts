/** Scoring files with a generative model: loss in nats per predicted token (docs/format.md §3, head truncation). */
import { readFileSync } from 'node:fs';
import { classify } from '../api/classify.js';
import { score, type Score, type ScoreOptions } from '../api/score.js';
import { extensionOf } from '../data/patches.js';
import { FileReader, examplePatches } from '../data/dataset.js';
import type { BgptModel } from '../model/bgpt.js';
import type { BgptClassifier } from '../model/classifier.js';

export interface FileScore extends Score {
  path: string;
}

export interface EvalResult {
  files: FileScore[];
  loss: number;
  bpb: number;
}

/** Reads a file, naming it in the error. */
export function readInput(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : (e as Error).message}`);
  }
}

/**
 * Scores every file (api/score.ts): its head L patches (the paper's truncation), or with `whole` all of it
 * through overlapping windows; with `surprisal`, each byte's bits too.
 */
export function evaluateFiles(
  model: BgptModel, paths: string[], opts: ScoreOptions = {},
): EvalResult {
  const files = paths.map((path) => ({ bytes: readInput(path), ext: extensionOf(path) }));
  const r = score(model, files, opts);
  return { ...r, files: r.files.map((f, i) => ({ path: paths[i], ...f })) };
}

/** Loss of one part of a conversion sequence. */
export interface PartScore {
  loss: number;
  bpb: number;
  tokens: number;
}

export interface PairScore extends FileScore {
  /** The input file; `path` is the target whose bytes were scored. */
  input: string;
  /** The source part: the input's patches after its header and the target's header patch (all but the target part). */
  source: PartScore;
}

const part = (sum: number, tokens: number): PartScore => ({ loss: sum / tokens, bpb: sum / tokens / Math.LN2, tokens });

/**
 * Conversion scoring: the loss on the target part (the patches after the target's header patch, which at
 * inference are what the model generates), per pair and in total; and the same for the source part (what the
 * model learns as a side effect of training on whole sequences) — a second forward counting every patch.
 */
export function evaluatePairs(model: BgptModel, pairs: { input: string; target: string }[], onProgress?: (done: number, total: number) => void): { files: PairScore[]; loss: number; bpb: number; source: PartScore } {
  const { patchSize: S, patchLength: L } = model.cfg;
  const reader = new FileReader((m) => {
    throw new Error(m.replace(/^bgpt: skipping /, ''));
  });
  const files: PairScore[] = [];
  let sum = 0, tokens = 0, srcSum = 0, srcTokens = 0;
  pairs.forEach((p, i) => {
    const e = examplePatches({ kind: 'pair', ...p }, reader, S, L, 'head')!;
    const N = e.patches.length / S;
    if (e.targetStart + 1 >= N) throw new Error(`${p.input}: fills the model's ${L} patches; nothing of ${p.target} is left to score`);
    const batch = { tokens: e.patches, masks: new Uint8Array(N).fill(1), B: 1, N };
    const r = model.forward(batch, { perSequence: true, targetFrom: [e.targetStart + 1] });
    const s = r.perSequence!.sum[0], t = r.perSequence!.tokens[0];
    const all = model.forward(batch, { perSequence: true }).perSequence!;
    const ss = all.sum[0] - s, st = all.tokens[0] - t;
    files.push({ path: p.target, input: p.input, loss: s / t, bpb: s / t / Math.LN2, bytes: readInput(p.target).length, tokens: t, source: part(ss, st) });
    sum += s;
    tokens += t;
    srcSum += ss;
    srcTokens += st;
    onProgress?.(i + 1, pairs.length);
  });
  return { files, loss: sum / tokens, bpb: sum / tokens / Math.LN2, source: part(srcSum, srcTokens) };
}

export interface ClassScore {
  path: string;
  label: string;
  predicted: string;
  /** Probability of the predicted label. */
  prob: number;
  /** Cross-entropy of the true label. */
  loss: number;
}

/** Classification scoring: per-file prediction, mean cross-entropy and accuracy. */
export function evaluateClassifier(model: BgptClassifier, files: { path: string; label: number }[], labels: string[], onProgress?: (done: number, total: number) => void): { files: ClassScore[]; loss: number; accuracy: number } {
  const K = model.labels, out: ClassScore[] = [];
  let loss = 0, correct = 0;
  const results = classify(model, labels, files.map((f) => ({ bytes: readInput(f.path), ext: extensionOf(f.path) })), { onProgress });
  files.forEach((f, i) => {
    const c = results[i];
    const fileLoss = model.k.crossEntropy(null, c.logits, Int32Array.of(f.label), 1, K, 1);
    if (c.index === f.label) correct++;
    loss += fileLoss;
    out.push({ path: f.path, label: labels[f.label], predicted: c.label, prob: c.probs[c.index], loss: fileLoss });
  });
  return { files: out, loss: loss / files.length, accuracy: correct / files.length };
}
