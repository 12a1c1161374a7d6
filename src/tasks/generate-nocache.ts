/**
 * One patch of generation by the original scheme (SPEC §5): the patch-level decoder runs over every patch so
 * far, then the byte-level decoder decodes the next patch byte by byte, recomputing its prefix each time.
 */
import { VOCAB } from '../model/config.js';
import type { BgptModel } from '../model/bgpt.js';

/** Samples a token from next-token probabilities (the array may be modified). */
export type Sampler = (probs: Float32Array) => number;

/** tokens: whole patches so far (a multiple of S). Returns the patch's tokens (ending early at a 256). */
export function generatePatchNoCache(model: BgptModel, tokens: Int32Array, sample: Sampler): number[] {
  const { patchSize: S, hidden: H } = model.cfg, k = model.k;
  const N = tokens.length / S;
  const F = model.patchDecoder.forward(tokens, 1, N, null, false);
  const feat = F.slice((N - 1) * H, N * H);
  const out: number[] = [];
  const targets = new Int32Array(S).fill(256);
  const probs = new Float32Array(VOCAB);
  while (out.length < S) {
    // causal attention: position out.length sees only the feature and the bytes before it
    const r = model.byteDecoder.forward(feat, targets, 1, { logits: true });
    k.softmax(probs, r.logits!.subarray(out.length * VOCAB, (out.length + 1) * VOCAB), 1, VOCAB);
    const t = sample(probs);
    out.push(t);
    if (t === 256) break;
    targets[out.length - 1] = t;
  }
  return out;
}
