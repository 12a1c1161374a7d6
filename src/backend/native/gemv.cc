// Products of a few rows (decoding: one row per stream) with a weight matrix W[K,N] in fp32, bf16 or f16:
// C[M,N] += A[M,K]·W[K,N]. At M ≤ kGemvRows the work is reading W once; 16-bit weights are widened in
// registers (bf16 by a 16-bit shift, f16 by the hardware conversion), never into a buffer. Three loop orders:
// - register strips (fp32 weights small enough to stay in the caches between decoding steps): a strip of
//   columns' partial sums of up to 8 rows stays in registers over all K, one weight vector loaded per
//   T·MR multiply-adds and no partial sums through memory;
// - one row into at most 256 columns (cached fp32): the same strips, as wide as the registers allow, over
//   each half of K;
// - streamed rows (larger weights, read from DRAM every step, and all 16-bit weights): W is read in the
//   order it lies in memory (GPT-2's Conv1D weight is [in, out]), four rows at a time over a column block
//   whose partial sums stay in L1, so every read is a few kB long and the hardware prefetcher keeps up.
// The work is split between pool.h's threads: streamed weights and one row into few columns by halves of k
// (the second half's sums added at the end), the other cached ones by columns. Sums run in fp32 over k in
// order (within each half), the same for every thread count.
#if defined(__AVX512F__) || defined(__AVX2__)
// GCC 12's _mm512_cvtepu16_epi32 and _mm512_cvtph_ps leave a pass-through operand undefined on purpose and
// then warn about it
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels.h"
#include "pool.h"

namespace bgpt {

namespace {

// Partial sums of one column block: M rows of at most kBlockBytes together (L1 is 32–48 kB).
constexpr idx kBlockBytes = 16 * 1024;
// fp32 weights up to this size take register strips (measured faster from L2/L3; rows streamed from DRAM
// are faster in the other order).
constexpr idx kCachedBytes = 2 * 1024 * 1024;
// Threads: one per kParWeightBytes of weights (see gemv()), each chunk of columns at least kMinChunk wide.
constexpr idx kParWeightBytes = 64 * 1024;
constexpr idx kMinChunk = 32;
// Streamed weights of at least kSplitRows rows are summed in two halves of k (see gemv_rows); the streamed
// loop prefetches the rows kAhead below those it reads (8: the best of 4, 8 and 16 tried).
constexpr idx kSplitRows = 64;
constexpr idx kAhead = 8;

// One weight format: its element type, a scalar widening and a vector load of kLanes widened weights.
#if defined(__AVX512F__)
#define BGPT_GEMV_VEC 1
constexpr idx kLanes = 16;
using Vec = __m512;
inline Vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec vset(float a) { return _mm512_set1_ps(a); }
inline Vec vfma(Vec a, Vec w, Vec c) { return _mm512_fmadd_ps(a, w, c); }
#elif defined(__AVX2__) && defined(__FMA__)
#define BGPT_GEMV_VEC 1
constexpr idx kLanes = 8;
using Vec = __m256;
inline Vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline Vec vset(float a) { return _mm256_set1_ps(a); }
inline Vec vfma(Vec a, Vec w, Vec c) { return _mm256_fmadd_ps(a, w, c); }
#else
constexpr idx kLanes = 0;  // no vector path: the scalar loop below does every column
#endif

struct F32 {
  using T = float;
  static float value(float w) { return w; }
#ifdef BGPT_GEMV_VEC
  static Vec load(const float* p) { return vload(p); }
#endif
};

struct BF16 {
  using T = std::uint16_t;
  static float value(std::uint16_t w) { return bf16_to_float(w); }
#if defined(__AVX512F__)
  static Vec load(const std::uint16_t* p) {
    const __m512i x = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
  }
#elif defined(__AVX2__) && defined(__FMA__)
  static Vec load(const std::uint16_t* p) {
    const __m256i x = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
  }
#endif
};

struct F16 {
  using T = std::uint16_t;
  static float value(std::uint16_t w) { return f16_to_float(w); }
#if defined(__AVX512F__)
  static Vec load(const std::uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
  static Vec load(const std::uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
#endif
};

// Whether format F has a vector load on this build (f16 on AVX2 needs F16C).
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__) && defined(__F16C__))
constexpr bool kVecF16 = true;
#else
constexpr bool kVecF16 = false;
#endif
template <class F>
constexpr bool vectorised() {
  return kLanes > 0 && (!std::is_same_v<F, F16> || kVecF16);
}

#ifdef BGPT_GEMV_VEC
// C[rows 0..MR, columns j..j+T·kLanes) += A[rows, k0..k1)·W[k0..k1, those columns]: the MR·T partial sums stay
// in registers over the whole range (one weight vector loaded, widened, per T·MR multiply-adds); the rows of
// the strip D ahead are prefetched, as their stride (a weight row) is too long for the hardware's stride
// prefetcher.
template <class F, int MR, int T>
inline void strip(float* C, const float* A, const typename F::T* W, idx K, idx N, idx j, idx k0, idx k1) {
  constexpr idx D = 8, kLine = 64 / sizeof(typename F::T);
  Vec s[MR][T];
  BGPT_UNROLL for (int i = 0; i < MR; i++)
    BGPT_UNROLL for (int t = 0; t < T; t++) s[i][t] = vload(C + i * N + j + t * kLanes);
  const typename F::T* w = W + k0 * N + j;
  for (idx k = k0; k < k1; k++, w += N) {
    if (k + D < k1)
      for (idx l = 0; l < T * kLanes; l += kLine) __builtin_prefetch(w + D * N + l);
    Vec x[T];
    BGPT_UNROLL for (int t = 0; t < T; t++) x[t] = F::load(w + t * kLanes);
    BGPT_UNROLL for (int i = 0; i < MR; i++) {
      const Vec a = vset(A[i * K + k]);
      BGPT_UNROLL for (int t = 0; t < T; t++) s[i][t] = vfma(a, x[t], s[i][t]);
    }
  }
  BGPT_UNROLL for (int i = 0; i < MR; i++)
    BGPT_UNROLL for (int t = 0; t < T; t++) vstore(C + i * N + j + t * kLanes, s[i][t]);
}

// Rows r0..r0+MR of C over columns n0..n1 (whole vectors): strips of T vectors, then single vectors.
template <class F, int MR, int T>
void strips(float* C, const float* A, const typename F::T* W, idx K, idx N, idx n0, idx n1) {
  idx j = n0;
  for (; j + T * kLanes <= n1; j += T * kLanes) strip<F, MR, T>(C, A, W, K, N, j, 0, K);
  for (; j < n1; j += kLanes) strip<F, MR, 1>(C, A, W, K, N, j, 0, K);
}

// Vector registers (AVX-512: 32, AVX2: 16) bound the tiles: a strip holds MR·T partial sums, T weight
// vectors and a broadcast; a row tile MR·KU broadcasts, KU weight vectors and a partial sum.
#if defined(__AVX512F__)
constexpr int kRegs = 32, kStripRows = 8, kTileRows = 4;
#else
constexpr int kRegs = 16, kStripRows = 4, kTileRows = 2;
#endif
constexpr int strip_width(int MR) { return (kRegs - 2) / (MR + 1) < 8 ? (kRegs - 2) / (MR + 1) : 8; }

// One row over rows k0..k1 of W, columns n0..n1 (whole vectors): strips as wide as the registers allow.
template <class F>
void one_row_strips(float* C, const float* A, const typename F::T* W, idx K, idx N, idx n0, idx n1, idx k0, idx k1) {
  constexpr int T = kRegs / 2;  // T sums, a weight vector and the broadcast: 16 on AVX-512, 8 on AVX2
  idx j = n0;
  for (; j + T * kLanes <= n1; j += T * kLanes) strip<F, 1, T>(C, A, W, K, N, j, k0, k1);
  for (; j + 8 * kLanes <= n1; j += 8 * kLanes) strip<F, 1, 8>(C, A, W, K, N, j, k0, k1);
  for (; j + 4 * kLanes <= n1; j += 4 * kLanes) strip<F, 1, 4>(C, A, W, K, N, j, k0, k1);
  for (; j < n1; j += kLanes) strip<F, 1, 1>(C, A, W, K, N, j, k0, k1);
}

template <class F>
void strip_tiles(float* C, const float* A, const typename F::T* W, idx M, idx K, idx N, idx n0, idx n1) {
  idx i = 0;
  for (; i + kStripRows <= M; i += kStripRows)
    strips<F, kStripRows, strip_width(kStripRows)>(C + i * N, A + i * K, W, K, N, n0, n1);
  C += i * N;
  A += i * K;
  switch (M - i) {
    case 7: return strips<F, 7, strip_width(7)>(C, A, W, K, N, n0, n1);
    case 6: return strips<F, 6, strip_width(6)>(C, A, W, K, N, n0, n1);
    case 5: return strips<F, 5, strip_width(5)>(C, A, W, K, N, n0, n1);
    case 4: return strips<F, 4, strip_width(4)>(C, A, W, K, N, n0, n1);
    case 3: return strips<F, 3, strip_width(3)>(C, A, W, K, N, n0, n1);
    case 2: return strips<F, 2, strip_width(2)>(C, A, W, K, N, n0, n1);
    case 1: return strips<F, 1, strip_width(1)>(C, A, W, K, N, n0, n1);
    default: return;
  }
}

// C[rows 0..MR, columns n0..n1) += A[rows, k..k+KU)·W[k..k+KU, n0..n1): KU weight rows loaded (widened) once
// per vector of columns and multiplied into MR output rows, whose A values are broadcast once per call.
template <class F, int MR, int KU>
inline void row_tile(float* C, const float* A, const typename F::T* W, idx K, idx N, idx k, idx n0, idx n1) {
  Vec a[MR][KU];
  BGPT_UNROLL for (int i = 0; i < MR; i++)
    BGPT_UNROLL for (int q = 0; q < KU; q++) a[i][q] = vset(A[i * K + k + q]);
  const typename F::T* w = W + k * N;
  // the rows kAhead further down, column for column: a block's run of each row is a few kB at most, too short
  // for the hardware prefetcher to get ahead of
  const bool ahead = k + kAhead + KU <= K;
  for (idx j = n0; j < n1; j += kLanes) {
    Vec x[KU];
    if (ahead)
      BGPT_UNROLL for (int q = 0; q < KU; q++) __builtin_prefetch(w + (kAhead + q) * N + j);
    BGPT_UNROLL for (int q = 0; q < KU; q++) x[q] = F::load(w + q * N + j);
    BGPT_UNROLL for (int i = 0; i < MR; i++) {
      Vec s = vload(C + i * N + j);
      BGPT_UNROLL for (int q = 0; q < KU; q++) s = vfma(a[i][q], x[q], s);
      vstore(C + i * N + j, s);
    }
  }
}

template <class F, int KU>
void row_tiles(float* C, const float* A, const typename F::T* W, idx M, idx K, idx N, idx k, idx n0, idx n1) {
  idx i = 0;
  for (; i + kTileRows <= M; i += kTileRows) row_tile<F, kTileRows, KU>(C + i * N, A + i * K, W, K, N, k, n0, n1);
  switch (M - i) {
    case 3: return row_tile<F, 3, KU>(C + i * N, A + i * K, W, K, N, k, n0, n1);
    case 2: return row_tile<F, 2, KU>(C + i * N, A + i * K, W, K, N, k, n0, n1);
    case 1: return row_tile<F, 1, KU>(C + i * N, A + i * K, W, K, N, k, n0, n1);
    default: return;
  }
}
#endif

// C[0..M, n0..n1) += A[:, k0..k1)·W[k0..k1, n0..n1) for one column block (n1 − n0 ≤ the block width), in the
// call's loop order (see gemv_rows). The register strips of several rows take every k (k0 = 0, k1 = K).
enum class Order { strips, oneRow, streamed };

template <class F>
void block(float* C, const float* A, const typename F::T* W, idx M, idx K, idx N, idx n0, idx n1, Order order,
           idx k0, idx k1) {
  idx vecEnd = n0;
#ifdef BGPT_GEMV_VEC
  if constexpr (vectorised<F>()) {
    vecEnd = n0 + (n1 - n0) / kLanes * kLanes;
    if (order == Order::strips) {
      strip_tiles<F>(C, A, W, M, K, N, n0, vecEnd);
    } else if (order == Order::oneRow) {
      one_row_strips<F>(C, A, W, K, N, n0, vecEnd, k0, k1);
    } else {
      // k outermost, so the block's weights are read once from memory whatever M is (rows past the first
      // four find them in L1)
      idx k = k0;
      for (; k + 4 <= k1; k += 4) row_tiles<F, 4>(C, A, W, M, K, N, k, n0, vecEnd);
      for (; k < k1; k++) row_tiles<F, 1>(C, A, W, M, K, N, k, n0, vecEnd);
    }
  }
#endif
  // the columns left over (or all of them without a vector load): plain loops, k still in order
  if (vecEnd < n1) {
    for (idx k = k0; k < k1; k++) {
      const typename F::T* w = W + k * N;
      for (idx i = 0; i < M; i++) {
        const float a = A[i * K + k];
        float* c = C + i * N;
        for (idx j = vecEnd; j < n1; j++) c[j] += a * F::value(w[j]);
      }
    }
  }
}

// One call's work in chunks: `parts` ranges of k (the second one summed into `part`, added to C at the end)
// times `groups` ranges of columns, each cut into blocks of `width` columns.
template <class F>
struct Chunks {
  float* C;
  float* part;
  const float* A;
  const typename F::T* W;
  idx M, K, N, width, per;
  int parts;
  Order order;

  static void run(void* self, int c) {
    const Chunks& s = *static_cast<const Chunks*>(self);
    const int h = c % s.parts;
    const idx k0 = h == 0 ? 0 : s.K / 2, k1 = h + 1 < s.parts ? s.K / 2 : s.K;
    float* dst = h == 0 ? s.C : s.part;
    const idx g = c / s.parts, n1 = std::min(s.N, (g + 1) * s.per);
    for (idx n0 = g * s.per; n0 < n1; n0 += s.width) block<F>(dst, s.A, s.W, s.M, s.K, s.N, n0, std::min(n1, n0 + s.width), s.order, k0, k1);
  }
};

template <class F>
void gemv_rows(float* C, const float* A, const typename F::T* W, idx M, idx K, idx N, int threads) {
  const bool streamed = std::is_same_v<F, F32> ? K * N * 4 > kCachedBytes : true;
  // block width: M partial rows within kBlockBytes, a multiple of 16 columns (64 bytes)
  const idx width = std::max<idx>(16, kBlockBytes / static_cast<idx>(sizeof(float)) / M / 16 * 16);
  // Streamed weights: the rows in two halves, each read whole by one thread, rather than every thread reading
  // a narrow range of columns of every row (runs of 1-3 kB per row, too short for the hardware prefetcher).
  // One row into at most 256 columns (config b's two c_proj products, cached) the same way: the rows in two
  // halves, each half's columns in one strip of registers. Cutting the columns between two threads left
  // chunks of 64 columns, one partial sum per vector (a chain of dependent multiply-adds) and every row read
  // in four short runs. (docs/performance.md: what each choice gained.)
  // The halves are fixed by the shape, not by the thread count, so that every thread count sums alike; the
  // columns are split further only beyond two threads (that changes no sum).
  const bool oneRow = !streamed && M == 1 && N <= 256 && K >= kSplitRows;
  const Order order = streamed ? Order::streamed : oneRow ? Order::oneRow : Order::strips;
  const int parts = (streamed && K >= kSplitRows) || oneRow ? 2 : 1;
  const idx groups = parts == 2 ? std::max(1, threads / 2) : std::clamp<idx>(N / kMinChunk, 1, 2 * threads);
  Chunks<F> work{C, nullptr, A, W, M, K, N, width, ((N + groups - 1) / groups + 15) / 16 * 16, parts, order};
  thread_local std::vector<float> part;
  if (parts == 2) {
    part.assign(static_cast<size_t>(M * N), 0.0f);
    work.part = part.data();
  }
  run_chunks(&Chunks<F>::run, &work, static_cast<int>(parts * ((N + work.per - 1) / work.per)), threads);
  if (parts == 2)
#pragma omp simd
    for (idx i = 0; i < M * N; i++) C[i] += part[i];
}

}  // namespace

void gemv(float* C, const float* A, const void* W, WeightType wt, const float* bias, idx M, idx K, idx N,
          bool accumulate) {
  if (M == 0 || N == 0) return;
  for (idx i = 0; i < M; i++) {
    float* c = C + i * N;
    if (!accumulate) {
      if (bias) std::memcpy(c, bias, sizeof(float) * N);
      else std::memset(c, 0, sizeof(float) * N);
    } else if (bias) {
      for (idx j = 0; j < N; j++) c[j] += bias[j];
    }
  }
  if (K == 0) return;
  // A thread per kParWeightBytes of weights: decoding's products come back to back and pool.h's helpers are
  // awake between them, so even small products gain (from 256×256 on; 128×128 does not).
  const idx weightBytes = K * N * (wt == WeightType::f32 ? 4 : 2);
  const int nt = static_cast<int>(std::clamp<idx>(std::min(weightBytes / kParWeightBytes, N / kMinChunk), 1, omp_get_max_threads()));
  switch (wt) {
    case WeightType::f32: return gemv_rows<F32>(C, A, static_cast<const float*>(W), M, K, N, nt);
    case WeightType::bf16: return gemv_rows<BF16>(C, A, static_cast<const std::uint16_t*>(W), M, K, N, nt);
    case WeightType::f16: return gemv_rows<F16>(C, A, static_cast<const std::uint16_t*>(W), M, K, N, nt);
  }
}

}  // namespace bgpt
