/** Scoring files with a generative model: loss in nats per predicted token (SPEC §3, head truncation). */
import { readFileSync } from 'node:fs';
import { collate, extensionOf, filePatches, truncate } from '../data/patches.js';
import type { BgptModel } from '../model/bgpt.js';

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
 * Scores every file (each cut to its head L patches); files are batched by size so padding stays small.
 * `onProgress` is called after each batch with the files done so far.
 */
export function evaluateFiles(
  model: BgptModel, paths: string[], opts: { maxTokens?: number; onProgress?: (done: number, total: number) => void } = {},
): EvalResult {
  const { patchSize: S, patchLength: L } = model.cfg;
  const maxTokens = opts.maxTokens ?? 16384;
  const seqs = paths.map((path, i) => {
    const bytes = readInput(path);
    return { i, path, bytes: bytes.length, patches: truncate(filePatches(bytes, extensionOf(path), S), S, L, 'head') };
  });
  const order = [...seqs].sort((a, b) => a.patches.length - b.patches.length);
  const scores: FileScore[] = new Array(paths.length);
  let totalLoss = 0, totalTokens = 0, done = 0;
  for (let start = 0; start < order.length;) {
    // grow the batch while the padded token count fits the budget (at least one file per batch)
    let end = start + 1;
    while (end < order.length && (end + 1 - start) * order[end].patches.length <= maxTokens) end++;
    const group = order.slice(start, end);
    const r = model.forward(collate(group.map((g) => g.patches), S), { perSequence: true });
    group.forEach((g, b) => {
      const sum = r.perSequence!.sum[b], tokens = r.perSequence!.tokens[b];
      scores[g.i] = { path: g.path, loss: sum / tokens, bpb: sum / tokens / Math.LN2, bytes: g.bytes, tokens };
      totalLoss += sum;
      totalTokens += tokens;
    });
    done += group.length;
    opts.onProgress?.(done, order.length);
    start = end;
  }
  const loss = totalLoss / totalTokens;
  return { files: scores, loss, bpb: loss / Math.LN2 };
}
