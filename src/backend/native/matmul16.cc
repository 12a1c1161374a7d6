// Matrix products with 16-bit weights (bf16 or f16) and fp32 activations, accumulated in fp32: inference
// reads half the weight bytes.
// - few rows (decoding: M <= kFewRows): gemv (gemv.cc) widens the weights in registers as it streams them;
// - many rows: a panel of kPanel weight rows is widened into a scratch matrix and multiplied by oneDNN's
//   sgemm, accumulating into C.
// bf16 → fp32 is exact (a 16-bit shift); f16 → fp32 is exact too (hardware F16C/AVX-512 conversion where the
// CPU has it, else the bit-level one of common.h).
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#if defined(__AVX512F__) || defined(__F16C__)
// GCC 12's _mm512_cvtph_ps leaves a pass-through operand undefined on purpose and then warns about it
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "sgemm.h"

namespace bgpt {

namespace {

constexpr idx kFewRows = 16;
constexpr idx kPanel = 128;

void widen(float* out, const std::uint16_t* in, idx n, bool f16) {
  if (!f16) {
#pragma omp simd
    for (idx i = 0; i < n; i++) out[i] = bf16_to_float(in[i]);
    return;
  }
  idx i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i))));
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
#endif
  for (; i < n; i++) out[i] = f16_to_float(in[i]);
}

}  // namespace

int matmul_w16(float* C, const float* A, const std::uint16_t* W, const float* bias, idx M, idx K, idx N, bool f16,
               bool bf16Activations) {
  if (M == 0 || N == 0) return dnnl_success;
  thread_local std::vector<float> rounded;
  if (bf16Activations) {
    // one row: the widening kernel's order (k in halves, one per thread) reads the weights faster than the dot
    // kernel's column strips, and the products are the same (of bf16 numbers, exact in fp32)
#ifdef BGPT_DOT_BF16
    if (M > 1 && M <= kFewRows) {
      gemv_bf16_dot(C, A, W, bias, M, K, N);
      return dnnl_success;
    }
#endif
    rounded.resize(static_cast<size_t>(M * K));
    round_bf16_values(rounded.data(), A, M * K);
    A = rounded.data();
  }
  if (M <= kFewRows) {
    gemv(C, A, W, f16 ? WeightType::f16 : WeightType::bf16, bias, M, K, N, false);
    return dnnl_success;
  }
  for (idx i = 0; i < M; i++) {
    if (bias) std::memcpy(C + i * N, bias, sizeof(float) * N);
    else std::memset(C + i * N, 0, sizeof(float) * N);
  }
  if (K == 0) return dnnl_success;
  const int nt = threads_for(gemm_ns(M, K, N));
  std::vector<float> panel(static_cast<size_t>(std::min(kPanel, K) * N));
  const ThreadCap cap(nt);
  for (idx k0 = 0; k0 < K; k0 += kPanel) {
    const idx rows = std::min(kPanel, K - k0);
    const int wt = threads_for(rows * N * kNsStream);
#pragma omp parallel for schedule(static) num_threads(wt) if (wt > 1)
    for (idx r = 0; r < rows; r++) widen(panel.data() + r * N, W + (k0 + r) * N, N, f16);
    const int st = sgemm('N', 'N', M, N, rows, 1.0f, A + k0, K, panel.data(), N, 1.0f, C, N);
    if (st != dnnl_success) return st;
  }
  return dnnl_success;
}

}  // namespace bgpt
