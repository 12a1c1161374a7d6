/**
 * The byte-level decoder: GPT-2 with a tied LM head over the S+1 positions [patch feature, t₀ … t_{S−1}]
 * (the feature takes the place of the leading <eop> embedding); position i predicts tᵢ.
 */
import type { Kernels } from '../backend/types.js';
import { GPT2, type Dropout } from '../nn/gpt2.js';
import type { CacheStep } from '../nn/kv-cache.js';
import { Buffers, type Params } from '../nn/params.js';
import { VOCAB, type BgptConfig } from './config.js';
import { BYTE_PREFIX } from './params.js';

export interface ByteLoss {
  /** Mean cross-entropy over the M·S predicted tokens. */
  loss: number;
  /** Summed cross-entropy per pair (only when asked). */
  perPair?: Float64Array;
  /** logits [M, S+1, 257] (only when asked; a copy). */
  logits?: Float32Array;
}

export class ByteLevelDecoder {
  readonly gpt: GPT2;
  private bufs: Buffers;
  private last: { M: number; T: number; inTok: Int32Array; h: Float32Array; dlogits: Float32Array } | null = null;

  constructor(readonly k: Kernels, private p: Params, readonly cfg: BgptConfig) {
    this.bufs = new Buffers(k.alloc);
    this.gpt = new GPT2(k, p, BYTE_PREFIX, cfg.hidden, cfg.heads, cfg.byteLayers);
  }

  /**
   * features [M, H] (one per pair), targets [M·S] tokens. With `grad`, ∂loss/∂logits is computed here
   * (fused with the loss) and `backward()` may follow.
   */
  forward(features: Float32Array, targets: Int32Array, M: number, opts: { grad?: boolean; perPair?: boolean; logits?: boolean; gradScale?: number; drop?: Dropout | null } = {}): ByteLoss {
    // Position S (input t_{S−1}) predicts nothing, and under the causal mask no other position sees it: it
    // changes no loss and no gradient (its gradients are exact zeros). So the decoder runs the S positions that
    // predict, 1/(S+1) less work, and takes all S + 1 only when the logits of every position are asked for.
    const { patchSize: S } = this.cfg, k = this.k, T = opts.logits ? S + 1 : S, R = M * T, b = this.bufs;
    // input ids: −1 marks the feature slot; labels: t₀..t_{S−1} at positions 0..S−1, none at S
    const inTok = b.ints('inTok', R);
    const labels = b.ints('labels', R);
    for (let m = 0; m < M; m++) {
      inTok[m * T] = -1;
      for (let s = 0; s < S; s++) {
        const t = targets[m * S + s];
        if (s + 1 < T) inTok[m * T + 1 + s] = t;
        labels[m * T + s] = t;
      }
      if (T > S) labels[m * T + S] = -1;
    }
    this.embed(inTok, features, M, T, null);
    const h = this.gpt.forward(M, T, null, !!opts.grad, opts.drop ?? null);
    const logits = this.logits(h, R);
    const out: ByteLoss = { loss: 0 };
    if (opts.logits) out.logits = logits.slice();
    const count = M * S;
    if (opts.perPair) {
      out.perPair = new Float64Array(M);
      for (let m = 0; m < M; m++) {
        out.perPair[m] = k.crossEntropy(null, logits.subarray(m * T * VOCAB, (m + 1) * T * VOCAB), labels.subarray(m * T, (m + 1) * T), T, VOCAB, 1);
      }
    }
    // ∂loss/∂logits overwrites the logits in place
    const sum = k.crossEntropy(opts.grad ? logits : null, logits, labels, R, VOCAB, opts.gradScale ?? 1 / count);
    out.loss = sum / count;
    this.last = opts.grad ? { M, T, inTok, h, dlogits: logits } : null;
    return out;
  }

  /**
   * Input embeddings of B sequences of T positions into gpt.input: token + position embedding, and at
   * every row whose token is −1 (the first position of a sequence) its sequence's feature instead of a
   * token. With `step`, sequence b's positions start after those cached in its slot.
   */
  private embed(inTok: Int32Array, features: Float32Array, B: number, T: number, step: CacheStep | null): Float32Array {
    const H = this.cfg.hidden, k = this.k, x = this.gpt.input(B * T);
    const wte = this.p.w(`${BYTE_PREFIX}wte.weight`), wpe = this.p.w(`${BYTE_PREFIX}wpe.weight`);
    if (!step) k.embedForward(x, wte, wpe, inTok, B * T, T, H);
    else {
      for (let b = 0; b < B; b++) {
        const past = step.cache.length[step.slots[b]];
        k.embedForward(x.subarray(b * T * H, (b + 1) * T * H), wte, wpe.subarray(past * H), inTok.subarray(b * T, (b + 1) * T), T, T, H);
      }
    }
    for (let r = 0; r < B * T; r++) {
      if (inTok[r] >= 0) continue;
      const o = r * H, f = Math.floor(r / T) * H;
      for (let i = 0; i < H; i++) x[o + i] += features[f + i];
    }
    return x;
  }

  /** The tied LM head: logits [R, 257] = h · wteᵀ (valid until the next call). */
  private logits(h: Float32Array, R: number): Float32Array {
    const logits = this.bufs.get('logits', R * VOCAB);
    this.k.matmul(logits, h, this.p.w(`${BYTE_PREFIX}wte.weight`), null, R, this.cfg.hidden, VOCAB, false, true, false);
    return logits;
  }

  /**
   * One decoding step (inference): sequence b continues the bytes cached in slot step.slots[b] by the token
   * tokens[b], or by its patch feature features[b] when that token is −1 (a patch's first position).
   * Returns the next-token logits [B, 257] (valid until the next call).
   */
  decode(tokens: Int32Array, features: Float32Array, step: CacheStep): Float32Array {
    const B = tokens.length;
    this.embed(tokens, features, B, 1, step);
    return this.logits(this.gpt.forward(B, 1, null, false, null, step), B);
  }

  /** Backward of the last forward with grad; returns ∂loss/∂features [M, H] (valid until the next call). */
  backward(): Float32Array {
    if (!this.last) throw new Error('ByteLevelDecoder.backward needs a forward with grad');
    const { M, T, inTok, h, dlogits } = this.last, { hidden: H } = this.cfg, k = this.k, R = M * T;
    const wte = this.p.w(`${BYTE_PREFIX}wte.weight`), dwte = this.p.g(`${BYTE_PREFIX}wte.weight`);
    const dh = this.bufs.get('dh', R * H);
    k.matmul(dh, dlogits, wte, null, R, VOCAB, H, false, false, false);
    k.matmul(dwte, dlogits, h, null, VOCAB, R, H, true, false, true);
    const dx = this.gpt.backward(dh);
    k.embedBackward(dwte, this.p.g(`${BYTE_PREFIX}wpe.weight`), dx, inTok, R, T, H);
    const dF = this.bufs.get('dF', M * H);
    for (let m = 0; m < M; m++) dF.set(dx.subarray(m * T * H, m * T * H + H), m * H);
    this.last = null;
    return dF;
  }
}
