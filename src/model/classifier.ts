/**
 * The bGPT classifier (docs/format.md §4): patch-level decoder → mean over each sequence's patches of the last hidden
 * state → `classifier` Linear(H → K). Padding sits after the real patches and attention is causal, so the
 * features of real patches do not depend on it: a padded batch gives each file the same logits as alone.
 */
import type { Kernels } from '../backend/types.js';
import { Buffers, type Params } from '../nn/params.js';
import { argmax } from '../util/argmax.js';
import type { Rng } from '../util/rng.js';
import type { Batch, ModelOptions, TrainingLoss, TrainingOptions } from './bgpt.js';
import { validateConfig, type BgptConfig } from './config.js';
import type { ParamLayout } from '../nn/layout.js';
import { buildLayout, modelParams } from './params.js';
import { PatchLevelDecoder } from './patch-decoder.js';
import type { Reads } from './task.js';

export interface ClassifierResult {
  /** [B, K] */
  logits: Float32Array;
  /** Mean cross-entropy when labels were given. */
  loss?: number;
}

export class BgptClassifier {
  /** Which model of a TaskModel this is. */
  readonly kind = 'classification';
  readonly layout: ParamLayout;
  readonly params: Params;
  readonly patchDecoder: PatchLevelDecoder;
  private bufs: Buffers;
  private last: { B: number; N: number; masks: Uint8Array; counts: Int32Array; pooled: Float32Array; dlogits: Float32Array } | null = null;

  /** What it reads of a file longer than its context (Task.reads; api/score.ts inputPatches). */
  readonly reads: Reads;

  constructor(readonly k: Kernels, readonly cfg: BgptConfig, readonly labels: number, opts: ModelOptions & { rng?: Rng; reads?: Reads } = {}) {
    this.reads = opts.reads ?? 'head';
    this.bufs = new Buffers(k.alloc);
    validateConfig(cfg);
    if (!Number.isInteger(labels) || labels < 1) throw new Error(`invalid label count ${labels}`);
    this.layout = buildLayout(cfg, labels);
    this.params = modelParams(this.layout, cfg, opts, k.alloc);
    this.patchDecoder = new PatchLevelDecoder(k, this.params, cfg);
  }

  /**
   * Logits for each sequence; with `targets` also the mean cross-entropy and, with `grad`, its gradient
   * times `gradScale` (default 1/B, the mean; 1 gives the summed loss's gradient for accumulation).
   * `dropout` (training, with grad) draws its masks from `rng`.
   */
  forward(batch: Batch, targets?: Int32Array, grad = false, gradScale?: number, dropout?: { p: number; rng: Rng }): ClassifierResult {
    const { B, N, tokens, masks } = batch, H = this.cfg.hidden, K = this.labels, k = this.k;
    const maskF = this.bufs.get('mask', B * N), counts = new Int32Array(B);
    let allValid = true;
    for (let i = 0; i < B * N; i++) {
      if (!(maskF[i] = masks[i])) allValid = false;
      else counts[Math.floor(i / N)]++;
    }
    if (counts.some((c) => c === 0)) throw new Error('a sequence in the batch has no patches');
    const drop = dropout && dropout.p > 0 && grad ? { p: dropout.p, seed: dropout.rng.nextU32() } : null;
    const F = this.patchDecoder.forward(tokens, B, N, allValid ? null : maskF, grad, drop);
    const pooled = this.bufs.get('pooled', B * H);
    pooled.fill(0);
    for (let b = 0; b < B; b++) {
      for (let n = 0; n < N; n++) {
        if (!masks[b * N + n]) continue;
        const o = (b * N + n) * H;
        for (let i = 0; i < H; i++) pooled[b * H + i] += F[o + i];
      }
      for (let i = 0; i < H; i++) pooled[b * H + i] /= counts[b];
    }
    const logits = new Float32Array(B * K);
    k.matmul(logits, pooled, this.params.w('classifier.weight'), this.params.w('classifier.bias'), B, H, K, false, true, false);
    const r: ClassifierResult = { logits };
    if (targets) {
      const dlogits = this.bufs.get('dlogits', B * K);
      r.loss = k.crossEntropy(grad ? dlogits : null, logits, targets, B, K, gradScale ?? 1 / B) / B;
      if (grad) this.last = { B, N, masks, counts, pooled, dlogits };
    }
    return r;
  }

  /** The summed loss of a training micro-batch (one per file) with its gradient, and the files labelled right; `backward` next. */
  trainingLoss(batch: Batch, labels: Int32Array, o: TrainingOptions): TrainingLoss {
    const r = this.forward(batch, labels, true, 1, { p: o.dropout, rng: o.rng }), K = this.labels;
    let correct = 0;
    for (let b = 0; b < batch.B; b++) if (argmax(r.logits, b * K, K) === labels[b]) correct++;
    return { sum: r.loss! * batch.B, count: batch.B, correct };
  }

  backward(): void {
    if (!this.last) throw new Error('backward needs a forward with targets and grad');
    const { B, N, masks, counts, pooled, dlogits } = this.last, H = this.cfg.hidden, K = this.labels, k = this.k;
    const p = this.params;
    k.matmul(p.g('classifier.weight'), dlogits, pooled, null, K, B, H, true, false, true);
    k.biasGrad(p.g('classifier.bias'), dlogits, B, K, true);
    const dpooled = this.bufs.get('dpooled', B * H);
    k.matmul(dpooled, dlogits, p.w('classifier.weight'), null, B, K, H, false, false, false);
    const dF = this.bufs.get('dF', B * N * H);
    dF.fill(0);
    for (let b = 0; b < B; b++) {
      for (let n = 0; n < N; n++) {
        if (!masks[b * N + n]) continue;
        const o = (b * N + n) * H;
        for (let i = 0; i < H; i++) dF[o + i] = dpooled[b * H + i] / counts[b];
      }
    }
    this.patchDecoder.backward(dF);
    this.last = null;
  }

  zeroGrad(): void {
    this.params.grad?.fill(0);
  }
}
