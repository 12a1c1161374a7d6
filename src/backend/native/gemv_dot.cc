// Decoding's few-row products in bf16 arithmetic: C[M,N] = bf16(A)[M,K]·W[K,N] (+ bias) with W in bf16, on the
// CPU's bf16 dot-product instruction (vdpbf16ps: 16 lanes, each adding two bf16 products to an fp32 sum). The
// activations are rounded to bf16 (nearest, ties to even) once per call; the products of two bf16 numbers are
// exact, the sums fp32. Each instruction takes a pair of consecutive k, so two weight rows are interleaved in
// registers (one permute per 16 columns) as they are read: the weights keep the layout every other kernel
// reads. Against the widening kernel (gemv.cc) this is one instruction per 32 weights and row instead of two
// multiply-adds plus the widening; the price is the activations' rounding (relative error 2^-9 per value).
// The instruction flushes subnormal inputs and results to zero; that, and its order of the two adds, is the
// difference from bf16(A)·W summed in fp32 in k order (the reference backend), well below the rounding itself.
// Columns go in chunks of a fixed width to pool.h's threads, so every thread count gives the same sums.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "pool.h"

#ifdef BGPT_DOT_BF16
#include <immintrin.h>
#endif

namespace bgpt {

// Decoding's rows are short: plain loops, no OpenMP region (to_bf16's would set up a team even for one thread).
void round_bf16_values(float* out, const float* x, idx n) {
  for (idx i = 0; i < n; i++) out[i] = bf16_to_float(round_bf16(x[i]));
}

#ifdef BGPT_DOT_BF16
namespace {

// Threads: one per kParWeightBytes of weights (as gemv.cc); they claim chunks of kChunk columns.
constexpr idx kParWeightBytes = 64 * 1024;
constexpr idx kChunk = 64;

struct Dot {
  float* C;
  const std::uint32_t* A2;  // ceil(K/2) pairs of M rows: bf16 of a[i][2p] low, a[i][2p + 1] high
  const std::uint16_t* W;
  const std::uint16_t* zeros;  // a row of N zero weights: the second row of an odd K's last pair
  idx M, K, N, pairs;
};

inline __mmask16 columns_mask(idx left) { return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1); }

// Rows 0..MR of C (A2 points at the first one's pairs), columns j..j+16T (the last vectors masked to n1): all
// pairs of k, the sums in registers; with KS > 1, KS sets of sums take the pairs in turn (more independent
// chains for the instruction's latency when MR·T is small), added in order at the end. The weight rows D pairs
// ahead are prefetched (their stride, a weight row, defeats the hardware prefetcher). An odd K's last pair
// reads a zero row, so one loop body serves every pair.
template <int MR, int T, int KS>
inline void strip(const Dot& d, const std::uint32_t* A2, float* C, idx j, idx n1) {
  constexpr idx D = 4;
  // output lane 2c takes column c of the first row, lane 2c + 1 column c of the second (16 + c in the pair)
  alignas(64) static constexpr std::uint16_t kPerm[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                                        8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i perm = _mm512_load_si512(kPerm);
  const idx N = d.N, K = d.K, M = d.M, pairs = d.pairs;
  __mmask16 m[T];
  BGPT_UNROLL for (int t = 0; t < T; t++) m[t] = columns_mask(n1 - (j + 16 * t));
  __m512 s[KS][MR][T];
  BGPT_UNROLL for (int i = 0; i < MR; i++)
    BGPT_UNROLL for (int t = 0; t < T; t++) {
      s[0][i][t] = _mm512_maskz_loadu_ps(m[t], C + i * N + j + 16 * t);
      BGPT_UNROLL for (int q = 1; q < KS; q++) s[q][i][t] = _mm512_setzero_ps();
    }
  const auto step = [&](__m512 (&c)[MR][T], idx p) {
    const std::uint16_t* w = d.W + 2 * p * N + j;
    const std::uint16_t* w1 = 2 * p + 1 < K ? w + N : d.zeros + j;
    if (p + D < pairs)
      BGPT_UNROLL for (int t = 0; t < T; t += 2) {
        __builtin_prefetch(w + 2 * D * N + 16 * t);
        __builtin_prefetch(w + (2 * D + 1) * N + 16 * t);
      }
    __m512bh x[T];
    BGPT_UNROLL for (int t = 0; t < T; t++) {
      const __m256i lo = _mm256_maskz_loadu_epi16(m[t], w + 16 * t), hi = _mm256_maskz_loadu_epi16(m[t], w1 + 16 * t);
      x[t] = (__m512bh)_mm512_permutexvar_epi16(perm, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
    }
    BGPT_UNROLL for (int i = 0; i < MR; i++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(A2[p * M + i]));
      BGPT_UNROLL for (int t = 0; t < T; t++) c[i][t] = _mm512_dpbf16_ps(c[i][t], a, x[t]);
    }
  };
  idx p = 0;
  for (; p + KS <= pairs; p += KS)
    BGPT_UNROLL for (int q = 0; q < KS; q++) step(s[q], p + q);
  for (; p < pairs; p++) step(s[0], p);
  BGPT_UNROLL for (int i = 0; i < MR; i++)
    BGPT_UNROLL for (int t = 0; t < T; t++) {
      BGPT_UNROLL for (int q = 1; q < KS; q++) s[0][i][t] = _mm512_add_ps(s[0][i][t], s[q][i][t]);
      _mm512_mask_storeu_ps(C + i * N + j + 16 * t, m[t], s[0][i][t]);
    }
}

// 32 vector registers: MR·T sums, T interleaved weight vectors, a broadcast and the permutation; at most
// kChunk / 16 vectors a strip. Sets of sums (KS) until there are 8 chains.
constexpr int width(int MR) { return 30 / (MR + 1) < 4 ? 30 / (MR + 1) : 4; }
constexpr int sets(int MR, int T) { return MR * T >= 8 ? 1 : 8 / (MR * T) < 4 ? 8 / (MR * T) : 4; }

// The chunk's columns in strips: its width (kChunk, a shape's constant, not the thread count's: the strips and
// so the sums are the same at every thread count) in strips of width(MR) vectors, the rest one vector at a time.
template <int MR>
void strips(const Dot& d, const std::uint32_t* A2, float* C, idx n0, idx n1) {
  constexpr int T = width(MR);
  idx j = n0;
  for (; j + 16 * T <= n1; j += 16 * T) strip<MR, T, sets(MR, T)>(d, A2, C, j, n1);
  for (; j < n1; j += 16) strip<MR, 1, sets(MR, 1)>(d, A2, C, j, n1);
}

void run(void* self, int c) {
  const Dot& d = *static_cast<const Dot*>(self);
  const idx n0 = c * kChunk, n1 = std::min(d.N, n0 + kChunk);
  idx i = 0;
  for (; i + 8 <= d.M; i += 8) strips<8>(d, d.A2 + i, d.C + i * d.N, n0, n1);
  const std::uint32_t* A2 = d.A2 + i;
  float* C = d.C + i * d.N;
  switch (d.M - i) {
    case 7: return strips<7>(d, A2, C, n0, n1);
    case 6: return strips<6>(d, A2, C, n0, n1);
    case 5: return strips<5>(d, A2, C, n0, n1);
    case 4: return strips<4>(d, A2, C, n0, n1);
    case 3: return strips<3>(d, A2, C, n0, n1);
    case 2: return strips<2>(d, A2, C, n0, n1);
    case 1: return strips<1>(d, A2, C, n0, n1);
    default: return;
  }
}

}  // namespace

void gemv_bf16_dot(float* C, const float* A, const std::uint16_t* W, const float* bias, idx M, idx K, idx N) {
  if (M == 0 || N == 0) return;
  for (idx i = 0; i < M; i++) {
    if (bias) std::memcpy(C + i * N, bias, sizeof(float) * N);
    else std::memset(C + i * N, 0, sizeof(float) * N);
  }
  if (K == 0) return;
  const idx pairs = (K + 1) / 2;
  thread_local std::vector<std::uint16_t> a16, zeros;
  thread_local std::vector<std::uint32_t> a2;
  a16.resize(static_cast<size_t>(M * K));
  a2.resize(static_cast<size_t>(M * pairs));
  if (K % 2) zeros.assign(static_cast<size_t>(N), 0);
  // rounded in one contiguous (vectorised) pass, then gathered into pairs: rounding in the strided gather was
  // slower than the products of a small matrix
  for (idx i = 0; i < M * K; i++) a16[i] = round_bf16(A[i]);
  for (idx p = 0; p < pairs; p++)
    for (idx i = 0; i < M; i++) {
      const std::uint32_t lo = a16[i * K + 2 * p], hi = 2 * p + 1 < K ? a16[i * K + 2 * p + 1] : 0;
      a2[p * M + i] = lo | hi << 16;
    }
  const idx chunks = (N + kChunk - 1) / kChunk;
  const int nt = static_cast<int>(std::clamp<idx>(std::min(K * N * 2 / kParWeightBytes, chunks), 1, omp_get_max_threads()));
  Dot d{C, a2.data(), W, zeros.data(), M, K, N, pairs};
  run_chunks(&run, &d, static_cast<int>(chunks), nt);
}
#endif

}  // namespace bgpt
