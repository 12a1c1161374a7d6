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

/** How a file longer than the context is cut: see truncate; 'ends' keeps its head and tail (endsOf). */
export type Truncation = 'head' | 'random' | 'ends';

/**
 * What a model of L patches reads of a file by its two ends: the whole file when it fits the L − 1 data
 * patches after the header patch, else the bytes of its first ⌊(L−1)/2⌋ patches and of its last
 * ⌈(L−1)/2⌉ patches' worth of bytes, one after the other (a zip's directory, a script's code after a licence
 * header). The head stays patch-aligned, so the file's first bytes sit where a head-only reader has them.
 */
export function endsOf(bytes: Uint8Array, S: number, L: number): Uint8Array {
  const spans = endsSpans(bytes.length, S, L);
  if (spans.length === 1) return bytes;
  const out = new Uint8Array((L - 1) * S);
  let at = 0;
  for (const [a, b] of spans) {
    out.set(bytes.subarray(a, b), at);
    at += b - a;
  }
  return out;
}

/** The byte ranges [from, to) of a file of n bytes that endsOf keeps, in order. */
export function endsSpans(n: number, S: number, L: number): [number, number][] {
  const room = (L - 1) * S, head = Math.floor((L - 1) / 2) * S;
  return n <= room ? [[0, n]] : [[0, head], [n - (room - head), n]];
}

/**
 * Cuts patches to at most L. 'head' (evaluation, inference) keeps the first L; 'random' (training) picks
 * head, body or tail uniformly: body = L patches from a random start in [1, N−L] when N > L+1 (else tail),
 * tail = the last L.
 */
export function truncate(patches: Int32Array, S: number, L: number, mode: Exclude<Truncation, 'ends'>, rng?: Rng): Int32Array {
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
