/** Scoring files with a generative model: loss in nats per predicted token (docs/format.md §3, head truncation). */
import { readFileSync } from 'node:fs';
import { collate, extensionOf, filePatches, truncate } from '../data/patches.js';
import { FileReader, examplePatches } from '../data/dataset.js';
import type { BgptModel } from '../model/bgpt.js';
import type { BgptClassifier } from '../model/classifier.js';

export interface FileScore {
  path: string;
  /** Mean cross-entropy in nats per predicted token. */
  loss: number;
  /** loss / ln 2 */
  bpb: number;
  /** Size of the file in bytes. */
  bytes: number;
  /** Tokens predicted (target patches × S). */
  tokens: number;
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
 * The windows that score a file of n patches with the model's L, each target patch once: the first window is
 * the head [0, L); each next one starts ⌊L/2⌋ patches later (its positions from 0 again) and scores only the
 * targets after the previous window's end, so every one has at least ⌈L/2⌉ patches of context.
 */
export function scoringWindows(n: number, L: number): { start: number; end: number; from: number }[] {
  const out = [{ start: 0, end: Math.min(n, L), from: 0 }], stride = Math.max(1, Math.floor(L / 2));
  while (out[out.length - 1].end < n) {
    const prev = out[out.length - 1], start = prev.start + stride;
    out.push({ start, end: Math.min(n, start + L), from: prev.end - start });
  }
  return out;
}

/**
 * Scores every file: its head L patches (the paper's truncation), or with `whole` all of it through
 * overlapping windows (scoringWindows). Windows of all files are batched by size so padding stays small.
 * `onProgress` is called after each batch with the windows done so far.
 */
export function evaluateFiles(
  model: BgptModel, paths: string[], opts: { maxTokens?: number; whole?: boolean; onProgress?: (done: number, total: number) => void } = {},
): EvalResult {
  const { patchSize: S, patchLength: L } = model.cfg;
  const maxTokens = opts.maxTokens ?? 16384;
  const files = paths.map((path) => ({ path, bytes: readInput(path) }));
  const segs: { file: number; patches: Int32Array; from: number }[] = [];
  files.forEach((f, file) => {
    const all = filePatches(f.bytes, extensionOf(f.path), S);
    if (!opts.whole) return segs.push({ file, patches: truncate(all, S, L, 'head'), from: 0 });
    for (const w of scoringWindows(all.length / S, L)) segs.push({ file, patches: all.subarray(w.start * S, w.end * S), from: w.from });
  });
  const order = [...segs].sort((a, b) => a.patches.length - b.patches.length);
  const sums = new Float64Array(files.length), counts = new Float64Array(files.length);
  for (let start = 0, done = 0; start < order.length;) {
    // grow the batch while the padded token count fits the budget (at least one window per batch)
    let end = start + 1;
    while (end < order.length && (end + 1 - start) * order[end].patches.length <= maxTokens) end++;
    const group = order.slice(start, end);
    const r = model.forward(collate(group.map((g) => g.patches), S), { perSequence: true, targetFrom: group.map((g) => g.from) });
    group.forEach((g, b) => {
      sums[g.file] += r.perSequence!.sum[b];
      counts[g.file] += r.perSequence!.tokens[b];
    });
    done += group.length;
    opts.onProgress?.(done, order.length);
    start = end;
  }
  let totalLoss = 0, totalTokens = 0;
  const scores = files.map((f, i): FileScore => {
    totalLoss += sums[i];
    totalTokens += counts[i];
    return { path: f.path, loss: sums[i] / counts[i], bpb: sums[i] / counts[i] / Math.LN2, bytes: f.bytes.length, tokens: counts[i] };
  });
  const loss = totalLoss / totalTokens;
  return { files: scores, loss, bpb: loss / Math.LN2 };
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

/** A classifier's logits and label probabilities for one file (head truncation). */
export function classProbs(model: BgptClassifier, path: string, bytes: Uint8Array): { logits: Float32Array; probs: Float32Array } {
  const { patchSize: S, patchLength: L } = model.cfg, K = model.labels;
  const p = truncate(filePatches(bytes, extensionOf(path), S), S, L, 'head');
  const N = p.length / S;
  const { logits } = model.forward({ tokens: p, masks: new Uint8Array(N).fill(1), B: 1, N });
  const probs = new Float32Array(K);
  model.k.softmax(probs, logits, 1, K);
  return { logits, probs };
}

/** Classification scoring: per-file prediction, mean cross-entropy and accuracy. */
export function evaluateClassifier(model: BgptClassifier, files: { path: string; label: number }[], labels: string[], onProgress?: (done: number, total: number) => void): { files: ClassScore[]; loss: number; accuracy: number } {
  const K = model.labels, out: ClassScore[] = [];
  let loss = 0, correct = 0;
  files.forEach((f, i) => {
    const { logits, probs } = classProbs(model, f.path, readInput(f.path));
    const fileLoss = model.k.crossEntropy(null, logits, Int32Array.of(f.label), 1, K, 1);
    let best = 0;
    for (let j = 1; j < K; j++) if (probs[j] > probs[best]) best = j;
    if (best === f.label) correct++;
    loss += fileLoss;
    out.push({ path: f.path, label: labels[f.label], predicted: labels[best], prob: probs[best], loss: fileLoss });
    onProgress?.(i + 1, files.length);
  });
  return { files: out, loss: loss / files.length, accuracy: correct / files.length };
}
