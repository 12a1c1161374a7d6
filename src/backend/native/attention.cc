// Causal self-attention core of GPT-2 (transformers 4.18), built on small matrix products.
//
// A task is one (sequence, head) pair: it copies its q, k, v (and dout) out of the fused [B, T, 3H] rows into
// contiguous, zero-padded panels (head dim rounded up to 16: any head dim takes the same path), then walks
// the queries in blocks of kMR rows. Per block, the scores are one register-tiled product q·kᵀ over the keys
// the block can see (causal: no work on the future half), the softmax runs on those rows while they are in
// cache, and att·v is one more product over the keys that carry weight. The backward does the same per
// block (datt = dout·vᵀ, then the softmax backward and dq = ds·k) and finishes with dv = attᵀ·dout and
// dk = dsᵀ·q from transposed copies it built row by row. Every product goes through one micro-kernel
// (C[mr × 16·nv] = A·B, accumulators in vector registers), for the byte decoder's T = 16–17 and the patch
// decoder's T = 256–512 alike; tasks read and write only their own slices, so they run in parallel without
// atomics. At T ≤ 16 (the byte decoder in training) a row of scores is one
// vector, and its softmax and softmax backward run in registers (softmaxRow16, softmaxBackRow16): row by row
// through memory, those short rows cost more than the two products around them.
//
// Dropout on the probabilities (training): a row's multipliers m[u] (scale or 0) are recomputed from the seed
// and the index of att[b,h,t,u], in forward and backward alike; att keeps the undropped probabilities.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels.h"

namespace bgpt {

namespace {

// Register tile of the micro-kernel: kMR rows × kNV vectors of 16 floats. AVX-512 has 32 vector registers
// (16 accumulators + 4 loads fit); with 16 (AVX2, two registers per vf16) the tile is smaller.
#ifdef __AVX512F__
constexpr int kMR = 4, kNV = 4;
#else
constexpr int kMR = 3, kNV = 2;
#endif

inline idx up16(idx n) { return (n + 15) & ~idx(15); }

// C[MR, 16·NV] = op(A)·B, op(A) [MR, K] stored row by row (A[r·lda + k]) or, with TA, column by column
// (A[k·lda + r]); B [K, 16·NV]; row strides lda, ldb, ldc; overwrites C.
// A small tile (under 8 accumulators) would wait on the latency of its few dependent chains of
// multiply-adds: it keeps KS = 2 sets, for the even and the odd k, and adds them at the end.
template <bool TA, int MR, int NV>
void tile(float* __restrict C, idx ldc, const float* __restrict A, idx lda, const float* __restrict B, idx ldb,
          idx K) {
  constexpr int KS = MR * NV < 8 ? 2 : 1;
  vf16 acc[KS][MR][NV];
  BGPT_UNROLL for (int s = 0; s < KS; s++)
    BGPT_UNROLL for (int r = 0; r < MR; r++)
      BGPT_UNROLL for (int j = 0; j < NV; j++) acc[s][r][j] = vf16{};
  const auto step = [&](vf16(&c)[MR][NV], idx k) {
    vf16 b[NV];
    BGPT_UNROLL for (int j = 0; j < NV; j++) b[j] = load16(B + k * ldb + 16 * j);
    BGPT_UNROLL for (int r = 0; r < MR; r++) {
      const vf16 a = splat16(TA ? A[k * lda + r] : A[r * lda + k]);
      BGPT_UNROLL for (int j = 0; j < NV; j++) c[r][j] += a * b[j];
    }
  };
  idx k = 0;
  for (; k + KS <= K; k += KS)
    BGPT_UNROLL for (int s = 0; s < KS; s++) step(acc[s], k + s);
  for (; k < K; k++) step(acc[0], k);
  BGPT_UNROLL for (int s = 1; s < KS; s++)
    BGPT_UNROLL for (int r = 0; r < MR; r++)
      BGPT_UNROLL for (int j = 0; j < NV; j++) acc[0][r][j] += acc[s][r][j];
  BGPT_UNROLL for (int r = 0; r < MR; r++)
    BGPT_UNROLL for (int j = 0; j < NV; j++) store16(C + r * ldc + 16 * j, acc[0][r][j]);
}

using TileFn = void (*)(float*, idx, const float*, idx, const float*, idx, idx);
template <bool TA, int MR, int... NV>
constexpr std::array<TileFn, sizeof...(NV)> tileRow(std::integer_sequence<int, NV...>) {
  return {tile<TA, MR, NV + 1>...};
}
template <bool TA, int... MR>
constexpr std::array<std::array<TileFn, kNV>, sizeof...(MR)> tileTable(std::integer_sequence<int, MR...>) {
  return {tileRow<TA, MR + 1>(std::make_integer_sequence<int, kNV>{})...};
}
constexpr std::array<std::array<std::array<TileFn, kNV>, kMR>, 2> kTiles = {
    tileTable<false>(std::make_integer_sequence<int, kMR>{}), tileTable<true>(std::make_integer_sequence<int, kMR>{})};

// C[mr, N] = op(A)[mr, K]·B[K, N] for mr ≤ kMR rows and N a multiple of 16.
inline void gemmRows(idx mr, float* C, idx ldc, const float* A, idx lda, const float* B, idx ldb, idx N, idx K,
                     bool transA = false) {
  for (idx c = 0; c < N; c += 16 * kNV) {
    const idx nv = std::min<idx>(kNV, (N - c) / 16);
    kTiles[transA][mr - 1][nv - 1](C + c, ldc, A, lda, B + c, ldb, K);
  }
}

// Keys up to the last one with weight in a probability row: t + 1 normally (future keys get exactly 0), all
// T when every key the query may see is padding (GPT-2's fill then spreads the weight over the future too).
inline idx extent(const float* a, idx t, idx T) {
  std::uint32_t any = 0;  // an OR over the future keys' bits: vectorises, and is 0 in the normal case
  for (idx u = t + 1; u < T; u++) {
    std::uint32_t x;
    std::memcpy(&x, a + u, sizeof x);
    any |= x;
  }
  if (any == 0) return t + 1;
  idx e = T;
  while (e > t + 1 && a[e - 1] == 0.0f) e--;
  return e;
}

// Reductions over a row in 16 lanes (16 partial results, combined at the end): the compiler may not reorder a
// float sum or a max with a condition by itself, so a plain loop runs one add or compare at a time, each
// waiting for the last. f(acc, u) updates one lane's partial result with element u.
// Short rows (the byte decoder's) take the plain loop: there the 16 lanes' setup and combination cost more
// than they save.
template <class F>
inline float reduce16(idx n, float init, F f) {
  if (n < 32) {
    float r = init;
    for (idx u = 0; u < n; u++) r = f(r, u);
    return r;
  }
  float acc[16];
  for (int j = 0; j < 16; j++) acc[j] = init;
  idx u = 0;
  for (; u + 16 <= n; u += 16)
    for (int j = 0; j < 16; j++) acc[j] = f(acc[j], u + j);
  for (int j = 0; u + j < n; j++) acc[j] = f(acc[j], u + j);
  float r = acc[0];
  for (int j = 1; j < 16; j++) r = f.combine(r, acc[j]);
  return r;
}
// max over u < n of x[u], among the u with pen[u] == p when pen is given
inline float rowMax(const float* __restrict x, idx n, const float* __restrict pen = nullptr, float p = 0) {
  struct {
    const float *x, *pen;
    float p;
    float operator()(float m, idx u) const { return ((!pen || pen[u] == p) && x[u] > m) ? x[u] : m; }
    float combine(float a, float b) const { return b > a ? b : a; }
  } f{x, pen, p};
  return reduce16(n, -INFINITY, f);
}
// Σ_{u < n} x[u]·y[u], or Σ x[u] when y is null
inline float rowSum(const float* __restrict x, idx n, const float* __restrict y = nullptr) {
  struct {
    const float *x, *y;
    float operator()(float s, idx u) const { return s + (y ? x[u] * y[u] : x[u]); }
    float combine(float a, float b) const { return a + b; }
  } f{x, y};
  return reduce16(n, 0.0f, f);
}

// Softmax of one query row of scores kept as base + pen: base = q·k/√d (0 for a future key, whose score is
// replaced) and pen = the `neg` terms (future key, padding key; GPT-2's −10000). The shift is taken part by part, the
// largest pen and the largest base among the keys that have it, so a query whose keys are all penalised
// still gets its probabilities to float precision (in one float, −10000 + s keeps ~3 decimals of s).
// No argmax and no running sum in the exp loop, so that loop vectorises. Returns the row's extent.
// When the query sees a valid key (pen 0) and its largest score is more than 100 above `neg`, every future
// key's exp argument is below −100 and gives exactly 0: only the t + 1 visible keys are computed, with the
// same values.
inline idx softmaxRow(float* __restrict a, const float* __restrict base, const float* __restrict maskPen, idx t,
                      idx T, float neg, float* __restrict pen) {
  idx n = t + 1;
  for (idx u = 0; u < n; u++) pen[u] = 0.0f + maskPen[u];
  float pmax = rowMax(pen, n);
  if (pmax == 0.0f) {
    const float bmax = rowMax(base, n, pen, pmax);
    if (bmax > neg + 100.0f) {
      for (idx u = 0; u < n; u++) a[u] = exp_approx((base[u] - bmax) + (pen[u] - pmax));
      const float inv = 1.0f / rowSum(a, n);
      for (idx u = 0; u < n; u++) a[u] *= inv;
      std::memset(a + n, 0, sizeof(float) * (T - n));
      return n;
    }
  }
  for (idx u = n; u < T; u++) pen[u] = neg + maskPen[u];
  pmax = std::max(pmax, rowMax(pen + n, T - n));
  const float bmax = rowMax(base, T, pen, pmax);
  for (idx u = 0; u < T; u++) a[u] = exp_approx((base[u] - bmax) + (pen[u] - pmax));
  const float inv = 1.0f / rowSum(a, T);
  for (idx u = 0; u < T; u++) a[u] *= inv;
  return extent(a, t, T);
}

// softmaxRow's normal case for a row that fits one vector (T ≤ 16: the byte decoder), in registers: the
// same values up to the order of the sum (a tree here). s: the row's 16 raw scores q·k (lanes ≥ T unused);
// pen: the keys' mask penalties (0 or neg) in lanes < T. Returns false, having written nothing, when the row
// is not the normal case (no visible key without a penalty, or the largest such score within 100 of neg):
// softmaxRow then takes it.
inline bool softmaxRow16(float* __restrict a, const float* __restrict s, vf16 pen, idx t, idx T, float scale,
                         float neg) {
  const vi16 seen = iota16() <= static_cast<std::int32_t>(t);
  const vf16 base = load16(s) * scale;
  const float bmax = hmax16((seen & (pen == 0.0f)) ? base : splat16(-INFINITY));
  if (!(bmax > neg + 100.0f)) return false;
  const vf16 e = seen ? exp16((base - bmax) + pen) : vf16{};
  const vf16 p = e * (1.0f / hsum16(e));
  if (T == 16) {
    store16(a, p);
  } else {
    float row[16];
    store16(row, p);
    std::memcpy(a, row, sizeof(float) * T);
  }
  return true;
}

// A probability row of T ≤ 16 as one vector (lanes ≥ T zero).
inline vf16 loadRow16(const float* a, idx T) {
  if (T == 16) return load16(a);
  float row[16] = {};
  std::memcpy(row, a, sizeof(float) * T);
  return load16(row);
}

// The softmax backward of row t when it fits one vector (T ≤ 16, no dropout): ds[u] = a[u]·(datt[u] − Σ a·datt)
// ·scale for u ≤ t, 0 for the other lanes (all 16 written); the sum over the block's extent, as a tree.
inline void softmaxBackRow16(float* __restrict ds, const float* __restrict a, const float* __restrict datt, idx t,
                             idx T, idx ext, float scale) {
  const vi16 lane = iota16();
  const vf16 av = loadRow16(a, T), dv = load16(datt);
  const float dot = hsum16(lane < static_cast<std::int32_t>(ext) ? av * dv : vf16{});
  store16(ds, (lane <= static_cast<std::int32_t>(t)) ? av * (dv - dot) * scale : vf16{});
}

// The dropout multipliers of keys u < n of row (b, h, t): m[u] = keep ? scale : 0, times w[u] when w is given.
inline void dropRow(float* __restrict m, const float* __restrict w, const DropParams& dp, idx b, idx h, idx t,
                    idx T, idx nHead, idx n) {
  const std::uint32_t base = static_cast<std::uint32_t>(((b * nHead + h) * T + t) * T);  // index mod 2^32
  const std::uint32_t key = dp.key, thr = dp.threshold;
  const float sc = dp.scale;
  if (w) {
    for (idx u = 0; u < n; u++) m[u] = drop_hash(key, base + static_cast<std::uint32_t>(u)) >= thr ? w[u] * sc : 0.0f;
  } else {
    for (idx u = 0; u < n; u++) m[u] = drop_hash(key, base + static_cast<std::uint32_t>(u)) >= thr ? sc : 0.0f;
  }
}

// A head's rows [T, d] inside the fused rows (stride 3H or H) are used in place when d is a multiple of 16
// (the micro-kernel's width); otherwise they are copied into a zero-padded panel [T, dp] first, and results
// go through a padded panel too. Keys are always transposed into a panel [d, Tp] (the scores' B operand).
struct Rows {
  const float* p;
  idx ld;
};
inline Rows panel(float* dst, idx dp, const float* src, idx ld, idx T, idx d) {
  if (d == dp) return {src, ld};
  for (idx t = 0; t < T; t++) std::memcpy(dst + t * dp, src + t * ld, sizeof(float) * d);
  return {dst, dp};
}
#ifdef BGPT_HAVE_SHUFFLEVECTOR
// One step of a 16 × 16 transpose in registers: rows r and r + W (r's bit W clear) swap their off-diagonal
// W-wide blocks. Row r keeps its lanes c with bit W clear and takes row r + W's lane c − W into the others;
// row r + W takes row r's lane c + W into its lanes with bit W clear and keeps the others. The steps
// W = 8, 4, 2, 1 together transpose the tile (vpermt2ps on AVX-512).
#define BGPT_UNPAREN(...) __VA_ARGS__
#define BGPT_STEP(W, LO, HI)                                        \
  for (int r = 0; r < 16; r++)                                      \
    if (!(r & W)) {                                                 \
      const vf16 a = x[r], b = x[r + W];                            \
      x[r] = __builtin_shufflevector(a, b, BGPT_UNPAREN LO);        \
      x[r + W] = __builtin_shufflevector(a, b, BGPT_UNPAREN HI);    \
    }
inline void transpose16(float* __restrict dst, idx ldd, const float* __restrict src, idx lds) {
  vf16 x[16];
  for (int r = 0; r < 16; r++) x[r] = load16(src + r * lds);
  BGPT_STEP(8, (0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23), (8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31))
  BGPT_STEP(4, (0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27), (4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31))
  BGPT_STEP(2, (0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29), (2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31))
  BGPT_STEP(1, (0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30), (1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31))
  for (int r = 0; r < 16; r++) store16(dst + r * ldd, x[r]);
}
#undef BGPT_STEP
#undef BGPT_UNPAREN
#endif
// dst[i, t] = src[t, i] for t < T, i < d: by 16 × 16 tiles in registers where the compiler can shuffle, the
// edges one float at a time (the byte decoder's keys are 17 × 64: four tiles and one row)
inline void packCols(float* __restrict dst, idx Tp, const float* __restrict src, idx ld, idx T, idx d) {
  idx T16 = 0, d16 = 0;
#ifdef BGPT_HAVE_SHUFFLEVECTOR
  T16 = T & ~idx(15), d16 = d & ~idx(15);
  for (idx t = 0; t < T16; t += 16)
    for (idx i = 0; i < d16; i += 16) transpose16(dst + i * Tp + t, Tp, src + t * ld + i, ld);
#endif
  if (T16 < T)  // the keys past the last whole tile, of the tiled head dims
    for (idx i = 0; i < d16; i++)
      for (idx t = T16; t < T; t++) dst[i * Tp + t] = src[t * ld + i];
  for (idx i = d16; i < d; i++)  // the head dims past the last whole tile, every key
    for (idx t = 0; t < T; t++) dst[i * Tp + t] = src[t * ld + i];
}
// C[mr, d] (stride ldc) = op(A)·B, straight into C when d = dp, through the panel o otherwise.
inline void gemmOut(idx mr, float* C, idx ldc, const float* A, idx lda, Rows B, idx K, bool transA, float* o, idx d,
                    idx dp) {
  if (d == dp) return gemmRows(mr, C, ldc, A, lda, B.p, B.ld, dp, K, transA);
  gemmRows(mr, o, dp, A, lda, B.p, B.ld, dp, K, transA);
  for (idx r = 0; r < mr; r++) std::memcpy(C + r * ldc, o + r * dp, sizeof(float) * d);
}

// Per-thread scratch, in floats, for T keys and padded head dim dp. Never cleared: what a pad (a column past
// d or T) holds only ever reaches output columns that are not copied out, never a kept value.
struct Scratch {
  idx Tp, dp;
  float *q, *k, *v, *kt, *s, *w, *o, *pen, *maskPen, *m, *base, *wt, *ds;
  static idx floats(idx T, idx dp) {
    const idx Tp = up16(T);
    return 3 * T * dp + dp * Tp + 2 * kMR * Tp + kMR * dp + 4 * Tp + 2 * T * Tp;
  }
  Scratch(float* p, idx T, idx dp_) : Tp(up16(T)), dp(dp_) {
    q = p, k = q + T * dp, v = k + T * dp, kt = v + T * dp, s = kt + dp * Tp, w = s + kMR * Tp, o = w + kMR * Tp;
    pen = o + kMR * dp, maskPen = pen + Tp, m = maskPen + Tp, base = m + Tp, wt = base + Tp, ds = wt + T * Tp;
  }
};

void forwardHead(float* out, float* att, const float* qkv, const float* mask, idx b, idx h, idx T, idx H,
                 idx nHead, float neg, const DropParams* drop, Scratch& S) {
  const idx d = H / nHead, H3 = 3 * H, dp = S.dp, Tp = S.Tp;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const float* q0 = qkv + b * T * H3 + h * d;
  const Rows q = panel(S.q, dp, q0, H3, T, d), v = panel(S.v, dp, q0 + 2 * H, H3, T, d);
  packCols(S.kt, Tp, q0 + H, H3, T, d);
  for (idx u = 0; u < T; u++) S.maskPen[u] = mask ? (1.0f - mask[b * T + u]) * neg : 0.0f;
  const vf16 pen16 = load16(S.maskPen) + 0.0f;  // as softmaxRow's pen (−0 → +0); read only when Tp = 16
  float* att0 = att + (b * nHead + h) * T * T;
  for (idx t0 = 0; t0 < T; t0 += kMR) {
    const idx mr = std::min<idx>(kMR, T - t0), seen = t0 + mr;  // keys the block's queries may see
    gemmRows(mr, S.s, Tp, q.p + t0 * q.ld, q.ld, S.kt, Tp, up16(seen), d);
    idx ext = seen;
    for (idx r = 0; r < mr; r++) {
      const idx t = t0 + r;
      const float* sr = S.s + r * Tp;
      if (Tp == 16 && softmaxRow16(att0 + t * T, sr, pen16, t, T, scale, neg)) continue;
      for (idx u = 0; u <= t; u++) S.base[u] = sr[u] * scale;
      for (idx u = t + 1; u < T; u++) S.base[u] = 0.0f;
      ext = std::max(ext, softmaxRow(att0 + t * T, S.base, S.maskPen, t, T, neg, S.pen));
    }
    // the weights of the values: att's rows themselves, or their dropped copies
    const float* w = att0 + t0 * T;
    idx ldw = T;
    if (drop) {
      for (idx r = 0; r < mr; r++) dropRow(S.w + r * Tp, w + r * T, *drop, b, h, t0 + r, T, nHead, ext);
      w = S.w, ldw = Tp;
    }
    gemmOut(mr, out + (b * T + t0) * H + h * d, H, w, ldw, v, ext, false, S.o, d, dp);
  }
}

void backwardHead(float* dqkv, const float* dout, const float* qkv, const float* att, idx b, idx h, idx T, idx H,
                  idx nHead, const DropParams* drop, Scratch& S) {
  const idx d = H / nHead, H3 = 3 * H, dp = S.dp, Tp = S.Tp;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const float* q0 = qkv + b * T * H3 + h * d;
  float* dq0 = dqkv + b * T * H3 + h * d;
  const Rows q = panel(S.q, dp, q0, H3, T, d), k = panel(S.k, dp, q0 + H, H3, T, d);
  const Rows dO = panel(S.v, dp, dout + b * T * H + h * d, H, T, d);
  packCols(S.kt, Tp, q0 + 2 * H, H3, T, d);  // vᵀ
  const float* att0 = att + (b * nHead + h) * T * T;
  // the weights the values got, [T, T] row by row: att itself, or its rows times the dropout multipliers
  const float* w0 = drop ? S.wt : att0;
  const idx ldw = drop ? Tp : T;
  idx firstDense = T;  // the first query whose weights reach past its own position
  for (idx t0 = 0; t0 < T; t0 += kMR) {
    const idx mr = std::min<idx>(kMR, T - t0), seen = t0 + mr;
    idx ext = seen;
    for (idx r = 0; r < mr; r++) {
      const idx e = extent(att0 + (t0 + r) * T, t0 + r, T);
      if (e > t0 + r + 1) firstDense = std::min(firstDense, t0 + r);
      ext = std::max(ext, e);
    }
    // out = Σ_u a[u]·m[u]·v[u]  →  datt[u] = (dout·v[u])·m[u], dv[u] = Σ_t a[u]·m[u]·dout[t]; then the softmax
    // backward ds[u] = a[u]·(datt[u] − Σ a·datt); a future key's score was a constant: no gradient to q, k.
    gemmRows(mr, S.s, Tp, dO.p + t0 * dO.ld, dO.ld, S.kt, Tp, up16(ext), d);
    for (idx r = 0; r < mr; r++) {
      const idx t = t0 + r;
      const float* a = att0 + t * T;
      float* datt = S.s + r * Tp;
      if (drop) {
        float* w = S.wt + t * Tp;
        dropRow(S.m, nullptr, *drop, b, h, t, T, nHead, ext);
        for (idx u = 0; u < ext; u++) datt[u] *= S.m[u];
        for (idx u = 0; u < ext; u++) w[u] = a[u] * S.m[u];
        std::memset(w + ext, 0, sizeof(float) * (T - ext));
      }
      if (Tp == 16 && !drop) {
        softmaxBackRow16(S.ds + t * Tp, a, datt, t, T, ext, scale);
        continue;
      }
      const float dot = rowSum(datt, ext, a);
      float* ds = S.ds + t * Tp;
      for (idx u = 0; u <= t; u++) ds[u] = a[u] * (datt[u] - dot) * scale;
      for (idx u = t + 1; u < seen; u++) ds[u] = 0.0f;  // read by the dk products of this block's keys
    }
    gemmOut(mr, dq0 + t0 * H3, H3, S.ds + t0 * Tp, Tp, k, seen, false, S.o, d, dp);  // dq = ds·k
  }
  // dv[u] = Σ_t w[t,u]·dout[t] and dk[u] = Σ_t ds[t,u]·q[t], over the queries t that reach key u: t ≥ u,
  // and for dv also every query from the first one whose weights reach past its own position
  for (idx u0 = 0; u0 < T; u0 += kMR) {
    const idx mr = std::min<idx>(kMR, T - u0), from = std::min(u0, firstDense);
    gemmOut(mr, dq0 + u0 * H3 + 2 * H, H3, w0 + from * ldw + u0, ldw, {dO.p + from * dO.ld, dO.ld}, T - from, true,
            S.o, d, dp);
    gemmOut(mr, dq0 + u0 * H3 + H, H3, S.ds + u0 * Tp + u0, Tp, {q.p + u0 * q.ld, q.ld}, T - u0, true, S.o, d, dp);
  }
}

// Runs fn(b, h, scratch) for every (sequence, head) pair, in parallel when the work is worth a team.
template <class Fn>
void forEachHead(idx B, idx T, idx H, idx nHead, Fn fn) {
  const idx d = H / nHead, dp = up16(d), tasks = B * nHead;
  // a head's work: the causal halves of two or three [T, T]·[T, d] products and the softmax's T² / 2 elements
  const int nt = tasks > 1 ? threads_for(static_cast<double>(tasks) * T * T * (d * 1.5 * kNsMac + 0.5 * kNsElem)) : 1;
  const idx per = Scratch::floats(T, dp);
  // kept by the calling thread between calls (a fresh buffer of this size costs page faults every call),
  // grown here: no allocation inside the region
  thread_local std::vector<float> scratch;
  const size_t need = static_cast<size_t>(per * nt);
  if (scratch.size() < need) scratch.resize(need);
  float* const base = scratch.data();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    Scratch s(base + per * omp_get_thread_num(), T, dp);
    // many short sequences (the byte decoder): a task takes all heads of one, whose rows then stay in cache
    // after the first head brought them in; few long ones (the patch decoder): one (sequence, head) per task
    const idx per_task = B >= 4 * omp_get_num_threads() ? nHead : 1;
#pragma omp for schedule(dynamic, 1)  // dynamic: a thread that loses its core does not hold up the rest
    for (idx task = 0; task < tasks / per_task; task++)
      for (idx j = task * per_task; j < (task + 1) * per_task; j++) fn(j / nHead, j % nHead, s);
  }
}

}  // namespace

void attention_forward(float* out, float* att, const float* qkv, const float* mask, idx B, idx T, idx H,
                       idx nHead, float maskValue, double dropP, std::uint32_t seed) {
  const DropParams dp(dropP, seed);
  const DropParams* drop = dropP > 0 ? &dp : nullptr;
  forEachHead(B, T, H, nHead,
              [&](idx b, idx h, Scratch& s) { forwardHead(out, att, qkv, mask, b, h, T, H, nHead, maskValue, drop, s); });
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, idx B, idx T, idx H,
                        idx nHead, double dropP, std::uint32_t seed) {
  const DropParams dp(dropP, seed);
  const DropParams* drop = dropP > 0 ? &dp : nullptr;
  forEachHead(B, T, H, nHead, [&](idx b, idx h, Scratch& s) { backwardHead(dqkv, dout, qkv, att, b, h, T, H, nHead, drop, s); });
}

}  // namespace bgpt
