/**
 * The generative bGPT (docs/format.md §3): patch-level decoder → features of source patches → byte-level decoder
 * predicting the bytes of the following (target) patches. One flat parameter buffer, an optional flat
 * gradient buffer; forward with `grad` then `backward()` accumulates ∂loss/∂parameters.
 */
import type { Kernels } from '../backend/types.js';
import type { Dropout } from '../nn/gpt2.js';
import { Buffers, type Params } from '../nn/params.js';
import type { Rng } from '../util/rng.js';
import { ByteLevelDecoder, type ByteLoss } from './byte-decoder.js';
import { validateConfig, type BgptConfig } from './config.js';
import type { ParamLayout } from '../nn/layout.js';
import { buildLayout, modelParams, type ParamSource } from './params.js';
import { PatchLevelDecoder } from './patch-decoder.js';

/** A batch of B sequences of N patches: tokens [B·N·S], masks [B·N] (1 = real patch, 0 = padding). */
export interface Batch {
  tokens: Int32Array;
  masks: Uint8Array;
  B: number;
  N: number;
}

export interface ForwardOptions {
  /** Compute gradients (call `backward()` next). */
  grad?: boolean;
  /** GPT-2 dropout probability (training, with `grad`; default 0). Masks are drawn from `rng`. */
  dropout?: number;
  /** Patch sampling: keep a random `sample` of the pairs (0 = all). Needs `rng`. */
  sample?: number;
  rng?: Rng;
  /** Also return the summed loss and predicted-token count per sequence. */
  perSequence?: boolean;
  /** Also return the logits [pairs, S+1, 257]. */
  logits?: boolean;
  /**
   * Factor of ∂loss/∂logits (default 1/(pairs·S), the mean). 1 makes the gradient that of the summed loss,
   * so micro-batches accumulate into exactly the gradient of one big batch.
   */
  gradScale?: number;
  /**
   * With perSequence: count only pairs whose target patch index is ≥ targetFrom[b] (a conversion's target
   * part).
   */
  targetFrom?: ArrayLike<number>;
}

export interface ForwardResult extends ByteLoss {
  /** Number of (source, target) patch pairs used. */
  pairs: number;
  perSequence?: { sum: Float64Array; tokens: Int32Array };
}

/** What one training micro-batch gives the trainer, whatever the model: summed loss, its count, and for a classifier how many it got right. */
export interface TrainingLoss {
  sum: number;
  count: number;
  correct?: number;
}

/** The trainer's settings for one micro-batch (both models take the same). */
export interface TrainingOptions {
  rng: Rng;
  /** GPT-2 dropout probability (0: off). */
  dropout: number;
  /** Patch sampling (generative models; 0: every pair). */
  sample?: number;
}

export interface ModelOptions extends ParamSource {
  /** Allocate a gradient buffer (training). */
  grad?: boolean;
  /** Parameters in the layout's order (the buffer is used as is); otherwise GPT-2 initialisation with `rng`. */
  params?: Float32Array;
  rng?: Rng;
  /** Reduced-precision inference: the Conv1D weights in 16 bits; `params` then holds the other tensors. */
  half?: ParamSource['half'];
}

/**
 * Source / target pairs exactly as the original's boolean indexing builds them: sources are valid patches
 * with at least one more valid patch after them, targets are valid patches other than each row's first,
 * each list flattened in (row, patch) order and paired in order.
 */
export function selectPairs(masks: Uint8Array, B: number, N: number): { src: Int32Array; tgt: Int32Array } {
  const src: number[] = [], tgt: number[] = [];
  for (let b = 0; b < B; b++) {
    let after = 0; // valid patches from n to the end (the original's flipped cumsum)
    const row: boolean[] = new Array(N);
    for (let n = N - 1; n >= 0; n--) {
      if (masks[b * N + n]) after++;
      row[n] = masks[b * N + n] === 1 && after > 1;
    }
    for (let n = 0; n < N; n++) if (row[n]) src.push(b * N + n);
    for (let n = 1; n < N; n++) if (masks[b * N + n]) tgt.push(b * N + n);
  }
  if (src.length !== tgt.length) throw new Error(`mask layout gives ${src.length} source but ${tgt.length} target patches`);
  return { src: Int32Array.from(src), tgt: Int32Array.from(tgt) };
}

export class BgptModel {
  /** Which model of a TaskModel this is. */
  readonly kind = 'generative';
  readonly layout: ParamLayout;
  readonly params: Params;
  readonly patchDecoder: PatchLevelDecoder;
  readonly byteDecoder: ByteLevelDecoder;
  private bufs: Buffers;
  private last: { B: number; N: number; src: Int32Array } | null = null;

  constructor(readonly k: Kernels, readonly cfg: BgptConfig, opts: ModelOptions = {}) {
    this.bufs = new Buffers(k.alloc);
    validateConfig(cfg);
    this.layout = buildLayout(cfg);
    this.params = modelParams(this.layout, cfg, opts, k.alloc);
    this.patchDecoder = new PatchLevelDecoder(k, this.params, cfg);
    this.byteDecoder = new ByteLevelDecoder(k, this.params, cfg);
  }

  /** The loss of docs/format.md §3 on a batch (and, with `grad`, what `backward()` needs). */
  forward(batch: Batch, opts: ForwardOptions = {}): ForwardResult {
    const { B, N, tokens, masks } = batch, { patchSize: S, hidden: H } = this.cfg;
    let { src, tgt } = selectPairs(masks, B, N);
    if (src.length === 0) throw new Error('no patch pairs to predict (every sequence needs at least two patches)');
    if (opts.sample && opts.sample > 0 && opts.sample < src.length) {
      if (!opts.rng) throw new Error('patch sampling needs an rng');
      const idx = opts.rng.shuffle([...src.keys()]).slice(0, opts.sample).sort((a, b) => a - b);
      src = Int32Array.from(idx, (i) => src[i]);
      tgt = Int32Array.from(idx, (i) => tgt[i]);
    }
    const M = src.length;
    let dropPatch: Dropout | null = null, dropByte: Dropout | null = null;
    if (opts.dropout && opts.dropout > 0) {
      if (!opts.grad || !opts.rng) throw new Error('dropout is for training: it needs grad and an rng');
      dropPatch = { p: opts.dropout, seed: opts.rng.nextU32() };
      dropByte = { p: opts.dropout, seed: opts.rng.nextU32() };
    }
    const maskF = this.bufs.get('mask', B * N);
    let allValid = true;
    for (let i = 0; i < B * N; i++) if (!(maskF[i] = masks[i])) allValid = false;
    const F = this.patchDecoder.forward(tokens, B, N, allValid ? null : maskF, !!opts.grad, dropPatch);
    const feats = this.bufs.get('feats', M * H);
    const targets = this.bufs.ints('targets', M * S);
    for (let m = 0; m < M; m++) {
      feats.set(F.subarray(src[m] * H, src[m] * H + H), m * H);
      targets.set(tokens.subarray(tgt[m] * S, tgt[m] * S + S), m * S);
    }
    const r: ForwardResult = {
      ...this.byteDecoder.forward(feats, targets, M, { grad: opts.grad, perPair: opts.perSequence, logits: opts.logits, gradScale: opts.gradScale, drop: dropByte }),
      pairs: M,
    };
    if (opts.perSequence && r.perPair) {
      const sum = new Float64Array(B), toks = new Int32Array(B);
      for (let m = 0; m < M; m++) {
        const b = Math.floor(tgt[m] / N);
        if (opts.targetFrom && tgt[m] % N < opts.targetFrom[b]) continue;
        sum[b] += r.perPair[m];
        toks[b] += S;
      }
      r.perSequence = { sum, tokens: toks };
    }
    this.last = opts.grad ? { B, N, src } : null;
    return r;
  }

  /**
   * The summed loss of a training micro-batch over every predicted token, with its gradient (not yet
   * divided by the count: micro-batches add up to exactly the gradient of one big batch); `backward` next.
   */
  trainingLoss(batch: Batch, _labels: Int32Array, o: TrainingOptions): TrainingLoss {
    const S = this.cfg.patchSize;
    const r = this.forward(batch, { grad: true, sample: o.sample, rng: o.rng, gradScale: 1, dropout: o.dropout });
    return { sum: r.loss * r.pairs * S, count: r.pairs * S };
  }

  /** Accumulates ∂loss/∂parameters of the last forward (with `grad`) into `params.grad`. */
  backward(): void {
    if (!this.last) throw new Error('backward needs a forward with grad');
    const { B, N, src } = this.last, H = this.cfg.hidden;
    const dFeat = this.byteDecoder.backward();
    const dF = this.bufs.get('dF', B * N * H);
    dF.fill(0);
    for (let m = 0; m < src.length; m++) {
      const o = src[m] * H;
      for (let i = 0; i < H; i++) dF[o + i] += dFeat[m * H + i];
    }
    this.patchDecoder.backward(dF);
    this.last = null;
  }

  zeroGrad(): void {
    this.params.grad?.fill(0);
  }
}
