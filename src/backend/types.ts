/**
 * The kernel interface: every hot loop of bGPT, forward and backward.
 *
 * Both backends implement exactly this. Arrays are plain typed arrays (often `subarray` views of the flat
 * parameter / gradient / activation buffers); a kernel never allocates its outputs, it writes into the
 * arrays it is given. Row-major everywhere. Shapes are passed explicitly so that a kernel can be checked
 * without knowing anything about the model.
 *
 * Conventions
 * - `accumulate` = add into the output instead of overwriting (gradients of shared tensors).
 * - Attention works on the fused qkv buffer laid out [B, T, 3·H] (q, k, v in that order, heads contiguous
 *   inside each), exactly as GPT-2's `c_attn` produces it.
 * - Masks are Float32Array of 0/1 per key position, [B, T]; `null` means every key is valid. Values other than
 *   exactly 0 or 1 are not supported (the maskValue·(1−mask) term would then be a partial penalty).
 * - Model constants are arguments, never built in: the attention mask value (GPT-2's −10000, `MASK_VALUE` in
 *   src/nn/attention.ts) and the patch vocabulary V (bGPT's 257, `VOCAB` in src/model/config.ts).
 * - Dropout (GPT-2's, in training) is stateless: whether element i of a call is kept is a pure function
 *   keep(seed, i) of the seed and the element's index, the same bit for bit in both backends, so the backward
 *   pass recomputes the mask from the same (p, seed) and nothing is stored:
 *     fmix32(h) = murmur3's finaliser (h ^= h>>>16; h *= 0x85ebca6b; h ^= h>>>13; h *= 0xc2b2ae35; h ^= h>>>16,
 *                 all uint32)
 *     key = fmix32(seed >>> 0);  r = fmix32(fmix32((i ^ key) >>> 0) + key)   (uint32, the add wraps)
 *     keep = r >= threshold,  threshold = min(2³²−1, floor(p·2³²)) as uint32
 *   A kept element is scaled by scale = (float)(1/(1−p)), the product a float32 multiply; a dropped one is 0.
 *   p must be in [0, 1) (a RangeError otherwise); p = 0 keeps everything and changes nothing. The seed is
 *   taken as uint32 (`seed >>> 0`: −1 and 2³²−1 are the same seed). Two calls with the same seed and
 *   overlapping index ranges get the same mask there: give each tensor (layer, step) its own seed.
 */
/** 16-bit weight formats: bfloat16 and IEEE half precision. */
import type { Allocator } from '../util/aligned.js';

export type HalfType = 'bf16' | 'f16';

export interface Kernels {
  readonly name: 'ts' | 'native' | 'wasm' | 'webgpu';

  /**
   * Optional: keep a model's flat parameter buffer where this backend's products read it (WebAssembly
   * memory, a GPU buffer), so products whose operands are views of it copy only activations. A snapshot:
   * pin again after the weights change. Backends that read host memory directly leave it out.
   */
  pin?(params: Float32Array): void;

  /** Optional: zeroed arrays laid out as this backend reads them best (util/aligned.ts); absent: plain arrays. */
  readonly alloc?: Allocator;

  /**
   * C[M,N] = op(A)·op(B) (+ bias[N] broadcast over rows) (+ C when accumulate).
   * op(A) is [M,K]: A stored [M,K], or [K,M] when transA. op(B) is [K,N]: B stored [K,N], or [N,K] when transB.
   * C must not overlap A or B (the result is undefined: both backends write C while still reading A and B).
   */
  matmul(
    C: Float32Array, A: Float32Array, B: Float32Array, bias: Float32Array | null,
    M: number, K: number, N: number, transA: boolean, transB: boolean, accumulate: boolean,
  ): void;

  /**
   * C[M,N] = A[M,K]·W[K,N] (+ bias[N]) with the weights W in 16 bits (inference): bf16 (the top half of an
   * fp32) or IEEE f16, widened exactly to fp32; products and sums in fp32. C must not overlap A.
   * bf16Activations (bf16 weights only): A is rounded to bf16 first (nearest, ties to even), so every product
   * is of two bf16 numbers (exact in fp32), summed in fp32 — what the bf16 dot-product instructions compute,
   * which the native backend uses for few rows where the CPU has them (avx512_bf16); they flush subnormals
   * to zero and may add a pair of products in another order.
   */
  matmulW16(
    C: Float32Array, A: Float32Array, W: Uint16Array, bias: Float32Array | null, M: number, K: number, N: number,
    dtype: HalfType, bf16Activations?: boolean,
  ): void;

  /**
   * matmul with bf16 operands (mixed-precision training): each of A and B is either fp32, rounded to bf16 (to
   * nearest, ties to even) on the way in, or a Uint16Array of bf16 bits (the top half of an fp32) used as it is.
   * The products of bf16 values are exact in fp32; they are summed in fp32 (or wider), C and bias are fp32.
   * Shapes, transposes, bias and accumulate as in matmul; C must not overlap A or B.
   */
  matmulBf16(
    C: Float32Array, A: Float32Array | Uint16Array, B: Float32Array | Uint16Array, bias: Float32Array | null,
    M: number, K: number, N: number, transA: boolean, transB: boolean, accumulate: boolean,
  ): void;

  /** out[i] = x[i] rounded to bf16 (to nearest, ties to even; NaN stays NaN), for i in [0, n). */
  toBf16(out: Uint16Array, x: Float32Array, n: number): void;

  /**
   * The MLP's first product and its activation in one call: pre[M,N] = A[M,K]·B[K,N] + bias[N] and
   * out = gelu_new(pre) (pre is what the backward needs). Neither output may overlap the other or an input.
   */
  matmulBiasGelu(
    out: Float32Array, pre: Float32Array, A: Float32Array, B: Float32Array, bias: Float32Array, M: number, K: number, N: number,
  ): void;

  /** db[N] (+)= sum over the M rows of dY[M,N]. */
  biasGrad(db: Float32Array, dY: Float32Array, M: number, N: number, accumulate: boolean): void;

  /** y += x, elementwise over n. */
  addInPlace(y: Float32Array, x: Float32Array, n: number): void;

  /**
   * LayerNorm over the last dim H of x[rows,H]; saves mean and rstd (1/sqrt(var+eps)) per row for backward.
   */
  layerNormForward(
    out: Float32Array, mean: Float32Array, rstd: Float32Array,
    x: Float32Array, w: Float32Array, b: Float32Array, rows: number, H: number, eps: number,
  ): void;

  /**
   * A residual add and the LayerNorm that reads its result, in one pass: sum = a + b (sum may alias a or b),
   * then layerNormForward(out, mean, rstd, sum, w, bias). Same results as the two calls in sequence.
   */
  addLayerNormForward(
    sum: Float32Array, out: Float32Array, mean: Float32Array, rstd: Float32Array,
    a: Float32Array, b: Float32Array, w: Float32Array, bias: Float32Array, rows: number, H: number, eps: number,
  ): void;

  /** dx += ∂/∂x; dw += ∂/∂w; db += ∂/∂b (all accumulate). */
  layerNormBackward(
    dx: Float32Array, dw: Float32Array, db: Float32Array, dout: Float32Array,
    x: Float32Array, mean: Float32Array, rstd: Float32Array, w: Float32Array, rows: number, H: number,
  ): void;

  /** gelu_new (tanh approximation), elementwise. */
  geluForward(out: Float32Array, x: Float32Array, n: number): void;

  /** dx = gelu'(x)·dout (overwrites dx; dx may alias dout). */
  geluBackward(dx: Float32Array, x: Float32Array, dout: Float32Array, n: number): void;

  /**
   * geluBackward over x[M,N] and then biasGrad of its result in one call (the MLP's c_fc: one pass over
   * the [rows, 4H] gradient instead of two): dx = gelu'(x)·dout, db[N] (+)= the column sums of dx.
   */
  geluBackwardBiasGrad(
    dx: Float32Array, db: Float32Array, x: Float32Array, dout: Float32Array, M: number, N: number, accumulate: boolean,
  ): void;

  /**
   * Dropout in place (see Conventions): x[i] = keep(seed, i) ? x[i]·scale : 0 for i in [0, n), i < 2³².
   * The backward pass is the same call on the gradient (same n, p, seed). p = 0 returns at once.
   */
  dropout(x: Float32Array, n: number, p: number, seed: number): void;

  /**
   * GPT-2 (transformers 4.18) causal self-attention core, without the c_attn / c_proj products.
   * qkv [B,T,3H] → out [B,T,H]; saves the softmax probabilities att [B,nHead,T,T] for backward.
   * Scores = q·k/√d; a future key's score is *replaced* by maskValue; then maskValue·(1−mask[key]) is added.
   * maskValue must be finite (a RangeError otherwise): −Infinity would make a fully masked row NaN.
   * dropP > 0 (training): dropout on the probabilities, out[t] = Σ_u att[u]·m[u]·v[u] with
   * m[u] = keep(seed, idx) ? scale : 0 and idx = ((b·nHead + h)·T + t)·T + u — the index of att[b,h,t,u], so the
   * mask is that of `dropout(att, B·nHead·T·T, dropP, seed)`. att itself is saved *before* dropout.
   * dropP = 0 (the default) is the plain attention, bit for bit and at the same speed.
   */
  attentionForward(
    out: Float32Array, att: Float32Array, qkv: Float32Array, mask: Float32Array | null,
    B: number, T: number, H: number, nHead: number, maskValue: number, dropP?: number, seed?: number,
  ): void;

  /**
   * dqkv = ∂/∂qkv (overwrites). Uses att saved by the forward; dropP and seed must be the forward's (the mask
   * is recomputed): datt[u] = (dout·v[u])·m[u], dv[u] += att[u]·m[u]·dout, and the softmax backward with the
   * undropped att, ds[u] = att[u]·(datt[u] − Σ_w att[w]·datt[w]).
   */
  attentionBackward(
    dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
    B: number, T: number, H: number, nHead: number, dropP?: number, seed?: number,
  ): void;

  /**
   * Attention of T new positions per sequence against a key/value cache (inference; same results as
   * `attentionForward` over the whole sequence without mask). Sequence b lives in cache slot slots[b]
   * (distinct), with past[b] positions already cached: keys and values are [slots, capacity, H] (heads
   * contiguous in each row, as in qkv). The new positions' keys and values (from qkv [B,T,3H]) are first
   * written at positions past[b]..past[b]+T−1 of the slot (past[b] + T ≤ capacity); then position t
   * attends over cache positions 0..past[b]+t. out [B,T,H]. The caller advances its lengths by T.
   */
  attentionCached(
    out: Float32Array, qkv: Float32Array, keys: Float32Array, values: Float32Array, slots: Int32Array,
    past: Int32Array, B: number, T: number, H: number, nHead: number, capacity: number,
  ): void;

  /**
   * Patch embedding as a gather-sum (never a dense one-hot product):
   * out[r,:] = bias + Σ_s W[:, s·V + tokens[r·S+s]] where W is the nn.Linear weight stored [H, S·V] and every
   * token is in [0, V).
   */
  patchEmbedForward(
    out: Float32Array, W: Float32Array, bias: Float32Array, tokens: Int32Array, rows: number, S: number, H: number, V: number,
  ): void;

  /** dW[:, s·V+tok] += dout[r,:]; dbias += Σ_r dout[r,:] (accumulate). */
  patchEmbedBackward(
    dW: Float32Array, dbias: Float32Array, dout: Float32Array, tokens: Int32Array, rows: number, S: number, H: number, V: number,
  ): void;

  /**
   * Token + position embedding: out[r,:] = (tokens[r] < 0 ? 0 : wte[tokens[r],:]) + wpe[r mod T,:].
   * A negative token means "no token embedding at this position" (the byte decoder puts the patch feature
   * there and adds it separately).
   */
  embedForward(
    out: Float32Array, wte: Float32Array, wpe: Float32Array, tokens: Int32Array, rows: number, T: number, H: number,
  ): void;

  /** dwte[tokens[r],:] += dout[r,:] (skipping negative tokens); dwpe[r mod T,:] += dout[r,:]. */
  embedBackward(
    dwte: Float32Array, dwpe: Float32Array, dout: Float32Array, tokens: Int32Array, rows: number, T: number, H: number,
  ): void;

  /**
   * Softmax cross-entropy over rows of logits[rows,V] against targets (a negative target = ignored row).
   * Returns the summed loss (float64 accumulation). When dlogits is given, writes
   * dlogits = (softmax − onehot)·scale for every row (zero for ignored rows); it may alias logits.
   */
  crossEntropy(
    dlogits: Float32Array | null, logits: Float32Array, targets: Int32Array, rows: number, V: number, scale: number,
  ): number;

  /** Row-wise softmax of x[rows,V] into out (may alias x). */
  softmax(out: Float32Array, x: Float32Array, rows: number, V: number): void;

  /**
   * torch.optim.AdamW step on the flat arrays (step is 1-based, after increment):
   * p −= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
   * p −= lr/(1−β1^t) · m / (√v/√(1−β2^t) + eps).
   */
  adamw(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void;

  /** Threads the backend uses (1 for ts). */
  threads(): number;
}
