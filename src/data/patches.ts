/**
 * Files → patches (docs/format.md §1): a header patch with the extension, the bytes padded to whole patches, one end
 * patch; cut to L patches (head, body or tail); batches padded with <eop> and mask 0.
 */
import { EOP } from '../model/config.js';
import type { Batch } from '../model/bgpt.js';
import type { Rng } from '../util/rng.js';

/** The extension as bGPT sees it: text after the last '.', empty when there is none. */
export function extensionOf(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? '';
  const i = base.lastIndexOf('.');
  return i < 0 ? '' : base.slice(i + 1);
}

/** The header patch: the extension's UTF-8 bytes cut to S, padded with <eop>. */
export function headerPatch(ext: string, S: number): Int32Array {
  const p = new Int32Array(S).fill(EOP);
  const b = new TextEncoder().encode(ext);
  for (let i = 0; i < Math.min(S, b.length); i++) p[i] = b[i];
  return p;
}

/** All patches of a file: header, data (last one padded), end patch — untruncated. */
export function filePatches(bytes: Uint8Array, ext: string, S: number): Int32Array {
  const dataPatches = Math.ceil(bytes.length / S);
  const out = new Int32Array((dataPatches + 2) * S).fill(EOP);
  out.set(headerPatch(ext, S));
  for (let i = 0; i < bytes.length; i++) out[S + i] = bytes[i];
  return out;
}

export type Truncation = 'head' | 'random';

/**
 * Cuts patches to at most L. 'head' (evaluation, inference) keeps the first L; 'random' (training) picks
 * head, body or tail uniformly: body = L patches from a random start in [1, N−L] when N > L+1 (else tail),
 * tail = the last L.
 */
export function truncate(patches: Int32Array, S: number, L: number, mode: Truncation, rng?: Rng): Int32Array {
  const N = patches.length / S;
  if (N <= L) return patches;
  let start = 0;
  if (mode === 'random') {
    if (!rng) throw new Error('random truncation needs an rng');
    const choice = rng.int(3);
    if (choice === 1 && N > L + 1) start = 1 + rng.int(N - L);
    else if (choice !== 0) start = N - L;
  }
  return patches.subarray(start * S, (start + L) * S);
}

/** Pads sequences of patches to the longest with <eop> tokens and mask 0. */
export function collate(seqs: Int32Array[], S: number): Batch {
  const B = seqs.length;
  const N = Math.max(...seqs.map((s) => s.length / S));
  const tokens = new Int32Array(B * N * S).fill(EOP);
  const masks = new Uint8Array(B * N);
  seqs.forEach((s, b) => {
    tokens.set(s, b * N * S);
    masks.fill(1, b * N, b * N + s.length / S);
  });
  return { tokens, masks, B, N };
}
