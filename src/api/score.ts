/**
 * Scoring bytes under a generative model (SPEC §3): loss in nats per predicted token and bits per byte, per
 * file and in total, and on request each byte's surprisal (bits the model spent on it). A file is read as
 * the paper does (its first L patches) or whole, through overlapping windows (scoringWindows). Segments of
 * all files are batched by length so that padding stays small; padding comes after each sequence and
 * attention is causal, so a file's numbers do not depend on its batch.
 */
import type { Kernels } from '../backend/types.js';
import { collate, endsOf, filePatches, truncate } from '../data/patches.js';
import type { Reads } from '../model/task.js';
import type { Batch, BgptModel } from '../model/bgpt.js';
import { VOCAB, type BgptConfig } from '../model/config.js';

/** A file as the task layer takes it: its bytes and the extension the model sees ('' for none). */
export interface FileInput {
  bytes: Uint8Array;
  ext?: string;
}

export interface ScoreOptions {
  /** Score every byte through overlapping windows (default: the head L patches, as the paper). */
  whole?: boolean;
  /** Also return each scored byte's surprisal in bits: the head's bytes, or with `whole` every byte. */
  surprisal?: boolean;
  /** Padded tokens per forward (default 16384). */
  maxTokens?: number;
  /** Called after each forward with the segments done and their total. */
  onProgress?: (done: number, total: number) => void;
}

export interface Score {
  /** Mean cross-entropy in nats per predicted token. */
  loss: number;
  /** loss / ln 2 */
  bpb: number;
  /** Size of the file in bytes. */
  bytes: number;
  /** Tokens predicted (target patches × S). */
  tokens: number;
  /** Bits the model spent on each byte it scored, from the file's first on (with `surprisal`). */
  surprisal?: Float32Array;
}

export interface ScoreResult {
  files: Score[];
  /** Token-weighted over all files. */
  loss: number;
  bpb: number;
}

/** A run of a file's patches scored in one sequence: targets from patch `from` on; `start` its first patch in the file. */
export interface Segment {
  file: number;
  patches: Int32Array;
  from: number;
  start: number;
}

/**
 * The patches the model reads for a file as the paper does: header, data, end patch, cut to the first L; a
 * classifier that reads `ends` sees the file's head and tail (endsOf) instead of its head.
 */
export function inputPatches(cfg: BgptConfig, f: FileInput, reads: Reads = 'head'): Int32Array {
  const S = cfg.patchSize, L = cfg.patchLength, bytes = reads === 'ends' ? endsOf(f.bytes, S, L) : f.bytes;
  return truncate(filePatches(bytes, f.ext ?? '', S), S, L, 'head');
}

/**
 * The windows that score a file of n patches with the model's L, each target patch once: the first window is
 * the head [0, L); each next one starts ⌊L/2⌋ patches later and scores only the targets after the previous
 * window's end, so every one has at least ⌈L/2⌉ patches of context.
 */
export function scoringWindows(n: number, L: number): { start: number; end: number; from: number }[] {
  const out = [{ start: 0, end: Math.min(n, L), from: 0 }], stride = Math.max(1, Math.floor(L / 2));
  while (out[out.length - 1].end < n) {
    const prev = out[out.length - 1], start = prev.start + stride;
    out.push({ start, end: Math.min(n, start + L), from: prev.end - start });
  }
  return out;
}

/** The segments that score each file: its head, or all of it through scoringWindows. */
export function fileSegments(model: BgptModel, files: FileInput[], whole = false): Segment[] {
  const { patchSize: S, patchLength: L } = model.cfg;
  const segs: Segment[] = [];
  files.forEach((f, file) => {
    if (!whole) return segs.push({ file, patches: inputPatches(model.cfg, f), from: 0, start: 0 });
    const all = filePatches(f.bytes, f.ext ?? '', S);
    for (const w of scoringWindows(all.length / S, L)) segs.push({ file, patches: all.subarray(w.start * S, w.end * S), from: w.from, start: w.start });
  });
  return segs;
}

/**
 * Summed loss and token count of each of `files` over its segments; with `surprisal`, the bits of each data
 * byte of file i (of `lengths[i]` bytes).
 */
export function scoreSegments(model: BgptModel, segs: Segment[], files: number, opts: ScoreOptions & { lengths?: number[] } = {}): { sums: Float64Array; counts: Float64Array; surprisal?: Float32Array[] } {
  const { patchSize: S } = model.cfg;
  const maxTokens = opts.maxTokens ?? 16384;
  const order = [...segs].sort((a, b) => a.patches.length - b.patches.length);
  const sums = new Float64Array(files), counts = new Float64Array(files);
  const surprisal = opts.surprisal ? (opts.lengths ?? []).map((n) => new Float32Array(n).fill(NaN)) : undefined;
  for (let start = 0, done = 0; start < order.length;) {
    // grow the batch while the padded token count fits the budget (at least one segment per batch)
    let end = start + 1;
    while (end < order.length && (end + 1 - start) * order[end].patches.length <= maxTokens) end++;
    const group = order.slice(start, end);
    const batch = collate(group.map((g) => g.patches), S);
    const r = model.forward(batch, { perSequence: true, targetFrom: group.map((g) => g.from), logits: !!surprisal });
    group.forEach((g, b) => {
      sums[g.file] += r.perSequence!.sum[b];
      counts[g.file] += r.perSequence!.tokens[b];
    });
    if (surprisal) bytesSurprisal(model.k, r.logits!, batch, S, group, surprisal);
    done += group.length;
    opts.onProgress?.(done, order.length);
    start = end;
  }
  return { sums, counts, surprisal };
}

/**
 * Each counted data byte's −log₂ p from the logits [pairs, S+1, 257], pairs in the model's (row, patch)
 * order: row b's targets are its valid patches after the first.
 */
function bytesSurprisal(k: Kernels, logits: Float32Array, { tokens, masks, B, N }: Batch, S: number, group: Segment[], out: Float32Array[]): void {
  const target = new Int32Array(1);
  let m = 0;
  for (let b = 0; b < B; b++) {
    const g = group[b], o = out[g.file];
    for (let n = 1; n < N; n++, m++) {
      if (!masks[b * N + n]) break;
      if (n < g.from) continue;
      for (let j = 0; j < S; j++) {
        const tok = tokens[(b * N + n) * S + j], at = (g.start + n - 1) * S + j;
        if (tok >= 256 || at >= o.length) continue;
        target[0] = tok;
        o[at] = k.crossEntropy(null, logits.subarray((m * (S + 1) + j) * VOCAB, (m * (S + 1) + j + 1) * VOCAB), target, 1, VOCAB, 1) / Math.LN2;
      }
    }
  }
}

/** Scores each file (SPEC §3): see the file comment. */
export function score(model: BgptModel, files: FileInput[], opts: ScoreOptions = {}): ScoreResult {
  const segs = fileSegments(model, files, opts.whole);
  // the head's data bytes: the first L − 1 patches (the header patch takes one)
  const head = (model.cfg.patchLength - 1) * model.cfg.patchSize;
  const lengths = files.map((f) => (opts.whole ? f.bytes.length : Math.min(f.bytes.length, head)));
  const { sums, counts, surprisal } = scoreSegments(model, segs, files.length, { ...opts, lengths });
  let totalLoss = 0, totalTokens = 0;
  const scores = files.map((f, i): Score => {
    totalLoss += sums[i];
    totalTokens += counts[i];
    const loss = sums[i] / counts[i];
    return { loss, bpb: loss / Math.LN2, bytes: f.bytes.length, tokens: counts[i], ...(surprisal ? { surprisal: surprisal[i] } : {}) };
  });
  const loss = totalLoss / totalTokens;
  return { files: scores, loss, bpb: loss / Math.LN2 };
}
