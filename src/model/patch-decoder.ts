/**
 * The patch-level decoder: gather-sum patch embedding (the one-hot Linear of the original, computed as a sum
 * of S weight columns), plus learned positions, through GPT-2; returns one feature per patch.
 */
import type { Kernels } from '../backend/types.js';
import { GPT2, type Dropout } from '../nn/gpt2.js';
import type { CacheStep } from '../nn/kv-cache.js';
import { Buffers, type Params } from '../nn/params.js';
import { VOCAB, type BgptConfig } from './config.js';
import { PATCH_PREFIX } from './params.js';

const EMB = 'patch_level_decoder.patch_embedding';

export class PatchLevelDecoder {
  readonly gpt: GPT2;
  private bufs: Buffers;
  private noTokens = new Int32Array(0);
  private last: { tokens: Int32Array; R: number; N: number } | null = null;

  constructor(readonly k: Kernels, private p: Params, readonly cfg: BgptConfig) {
    this.bufs = new Buffers(k.alloc);
    this.gpt = new GPT2(k, p, PATCH_PREFIX, cfg.hidden, cfg.heads, cfg.patchLayers);
  }

  /** "No token" ids (−1) for the position-only embedding pass. */
  private none(R: number): Int32Array {
    if (this.noTokens.length < R) this.noTokens = new Int32Array(R).fill(-1);
    return this.noTokens.subarray(0, R);
  }

  /**
   * tokens [B·N·S] (0..256) → last hidden state [B·N, H]. mask [B·N] of 0/1 or null (all valid).
   * `keep` keeps activations for backward; `drop` applies GPT-2's training dropout. With `step` (inference),
   * sequence b's N patches come after the patches cached in its slot: their positions start there.
   */
  forward(tokens: Int32Array, B: number, N: number, mask: Float32Array | null, keep: boolean, drop: Dropout | null = null, step: CacheStep | null = null): Float32Array {
    const { patchSize: S, hidden: H, patchLength: L } = this.cfg, k = this.k, R = B * N;
    if (tokens.length < R * S) throw new Error(`expected ${R * S} tokens, got ${tokens.length}`);
    const x = this.gpt.input(R);
    k.patchEmbedForward(x, this.p.w(`${EMB}.weight`), this.p.w(`${EMB}.bias`), tokens, R, S, H, VOCAB);
    const pos = this.bufs.get('pos', R * H), wte = this.p.w(`${PATCH_PREFIX}wte.weight`), wpe = this.p.w(`${PATCH_PREFIX}wpe.weight`);
    for (let b = 0; b < (step ? B : 1); b++) {
      // the position embedding of rows past..past+N−1 is that of rows 0..N−1 of the table shifted by past
      const past = step ? step.cache.length[step.slots[b]] : 0;
      if (past + N > L) throw new Error(`${past + N} patches exceed the model's patch length ${L}`);
      const rows = step ? N : R;
      k.embedForward(pos.subarray(b * N * H, (b * N + rows) * H), wte, wpe.subarray(past * H), this.none(rows), rows, N, H);
    }
    k.addInPlace(x, pos, R * H);
    this.last = { tokens, R, N };
    return this.gpt.forward(B, N, mask, keep, drop, step);
  }

  /** Backward from ∂loss/∂features [B·N, H]; accumulates every gradient of the patch-level decoder. */
  backward(dFeatures: Float32Array): void {
    if (!this.last) throw new Error('PatchLevelDecoder.backward before forward');
    const { tokens, R, N } = this.last, { patchSize: S, hidden: H } = this.cfg, k = this.k;
    const dx = this.gpt.backward(dFeatures);
    k.patchEmbedBackward(this.p.g(`${EMB}.weight`), this.p.g(`${EMB}.bias`), dx, tokens, R, S, H, VOCAB);
    k.embedBackward(this.p.g(`${PATCH_PREFIX}wte.weight`), this.p.g(`${PATCH_PREFIX}wpe.weight`), dx, this.none(R), R, N, H);
  }
}
