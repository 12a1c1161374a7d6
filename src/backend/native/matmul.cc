// Matrix products through oneDNN's sgemm (row-major, OpenMP-threaded by oneDNN itself), except those of a few
// rows (decoding), which read the weights once through gemv (gemv.cc).
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "gelu.h"
#include "kernels.h"
#include "sgemm.h"

namespace bgpt {

namespace {

// C[M,N] (+)= Aᵀ·B for a weight gradient with many more rows than columns (the MLP's c_proj: [4H, H]):
// oneDNN's sgemm runs this orientation at under half the rate of the transposed one (measured on AVX-512,
// 17340 rows: 2.2x), so the product is taken as Cᵀ = Bᵀ·A into a scratch [N, M] and added in transposed,
// a pass over M·N floats next to the product's M·N·K multiply-adds.
int matmulTransposed(float* C, const float* A, const float* B, idx M, idx K, idx N, bool accumulate) {
  thread_local std::vector<float> scratch;  // kept between calls: a fresh buffer costs page faults each time
  if (scratch.size() < static_cast<size_t>(M * N)) scratch.resize(static_cast<size_t>(M * N));
  float* const t = scratch.data();
  const int st = sgemm('T', 'N', N, M, K, 1.0f, B, N, A, M, 0.0f, t, M);
  if (st != dnnl_success) return st;
  constexpr idx kB = 16;  // blocks: both sides touch whole cache lines
  const int nt = threads_for(M * N * kNsStream);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (idx i0 = 0; i0 < M; i0 += kB)
    for (idx j0 = 0; j0 < N; j0 += kB)
      for (idx i = i0; i < std::min(M, i0 + kB); i++)
        for (idx j = j0; j < std::min(N, j0 + kB); j++) C[i * N + j] = (accumulate ? C[i * N + j] : 0.0f) + t[j * M + i];
  return dnnl_success;
}

}  // namespace

int matmul(float* C, const float* A, const float* B, const float* bias, idx M, idx K, idx N, bool transA,
           bool transB, bool accumulate) {
  if (M == 0 || N == 0) return dnnl_success;
  if (M <= kGemvRows && !transA && !transB) {
    gemv(C, A, B, WeightType::f32, bias, M, K, N, accumulate);
    return dnnl_success;
  }
  // oneDNN sizes its team from omp_get_max_threads(): capped here by the cost model (threads never hurt).
  const ThreadCap cap(threads_for(gemm_ns(M, K, N)));
  // The bias goes in first (copied, or added when accumulating) so that sgemm only ever needs beta = 1.
  if (bias) {
#pragma omp parallel for schedule(static) if (M * N * kNsStream > kParMinNs)
    for (idx i = 0; i < M; i++) {
      float* c = C + i * N;
      if (accumulate) {
#pragma omp simd
        for (idx j = 0; j < N; j++) c[j] += bias[j];
      } else {
        std::memcpy(c, bias, sizeof(float) * N);
      }
    }
  }
  const float beta = (bias || accumulate) ? 1.0f : 0.0f;
  if (K == 0) {
    if (beta == 0.0f) std::memset(C, 0, sizeof(float) * M * N);
    return dnnl_success;
  }
  if (transA && !transB && !bias && M >= 2 * N) return matmulTransposed(C, A, B, M, K, N, accumulate);
  const idx lda = transA ? M : K, ldb = transB ? K : N;
  return sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, N);
}

// The MLP's c_fc and gelu with one pass less over memory than matmul + gelu_forward: no bias rows written
// first and no beta = 1 read of them. One sgemm with oneDNN's own threading (team capped by the cost model,
// as in matmul: splitting rows by hand and calling sgemm inside a parallel region measured 1.5x slower in
// training and left small decoding products on two threads), then one pass adds the bias and takes the gelu.
int matmul_bias_gelu(float* G, float* C, const float* A, const float* B, const float* bias, idx M, idx K, idx N) {
  if (M == 0 || N == 0) return dnnl_success;
  if (M <= kGemvRows) {
    gemv(C, A, B, WeightType::f32, bias, M, K, N, false);
#pragma omp simd
    for (idx i = 0; i < M * N; i++) G[i] = gelu_value(C[i]);
    return dnnl_success;
  }
  if (K > 0) {
    const ThreadCap cap(threads_for(gemm_ns(M, K, N)));
    const int st = sgemm('N', 'N', M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    if (st != dnnl_success) return st;
  } else {
    std::memset(C, 0, sizeof(float) * M * N);
  }
  const int nt = threads_for(M * N * kNsElem);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && M > 1)
  for (idx i = 0; i < M; i++) {
    float* __restrict ci = C + i * N;
    float* __restrict gi = G + i * N;
#pragma omp simd
    for (idx j = 0; j < N; j++) {
      const float v = ci[j] + bias[j];
      ci[j] = v;
      gi[j] = gelu_value(v);
    }
  }
  return dnnl_success;
}

}  // namespace bgpt
