// Matrix products through oneDNN's sgemm (row-major, OpenMP-threaded by oneDNN itself; weight gradients and
// some input gradients over many rows split between the threads here), except those of a few rows (decoding),
// which read the weights once through gemv (gemv.cc).
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

// Runs f(t, n) on every thread t of a team of up to nt (n: the team OpenMP gave), each call's sgemm on its own
// thread alone; *team gets n. Returns the first failing oneDNN status, or success.
template <class F>
int perThread(int nt, int* team, F f) {
  int status = dnnl_success;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    if (t == 0) *team = n;
    const ThreadCap one(n > 1 ? 1 : omp_get_max_threads());  // a team of one: sgemm keeps its own threading
    const int st = f(t, n);
    if (st != dnnl_success) {
#pragma omp atomic write
      status = st;
    }
  }
  return status;
}

// A weight gradient C[M,N] (+)= Aᵀ·B, A [K,M] and B [K,N], summed over many rows K, in one of two ways that
// oneDNN's sgemm runs faster than its own 'T', 'N' product (docs/performance.md has the measurements):
// - with many more rows than columns (the MLP's c_proj: [4H, H]) over a long sum (K ≥ 8·max(M, N)) the product
//   is taken as Cᵀ = Bᵀ·A, an orientation sgemm runs much faster, and added in transposed: a pass over M·N
//   floats next to the product's M·N·K multiply-adds. Over shorter sums the direct product is faster;
// - on nt > 1 threads, each thread sums its own share of the K rows with a one-thread sgemm and the partial sums
//   are added after, which beats sgemm's own threading for c_fc and c_proj (neutral for c_attn).
// Either way the products land in a scratch of nt panels, [M, N] or [N, M], added into C in one pass.
int weightGrad(float* C, const float* A, const float* B, idx M, idx K, idx N, bool accumulate, bool transposed,
               int nt) {
  thread_local std::vector<float> scratch;  // kept between calls: a fresh buffer costs page faults each time
  const idx MN = M * N;
  if (scratch.size() < static_cast<size_t>(MN * nt)) scratch.resize(static_cast<size_t>(MN * nt));
  float* const part = scratch.data();
  int parts = 1;  // the panels written
  const int status = perThread(nt, &parts, [&](int t, int n) {
    const idx k0 = K * t / n, k1 = K * (t + 1) / n;
    const float *a = A + k0 * M, *b = B + k0 * N;
    return transposed ? sgemm('T', 'N', N, M, k1 - k0, 1.0f, b, N, a, M, 0.0f, part + t * MN, M)
                      : sgemm('T', 'N', M, N, k1 - k0, 1.0f, a, M, b, N, 0.0f, part + t * MN, N);
  });
  if (status != dnnl_success) return status;
  const int at = threads_for(MN * parts * kNsStream);
  if (!transposed) {
#pragma omp parallel for schedule(static) num_threads(at) if (at > 1)
    for (idx i = 0; i < M; i++)
      for (int p = 0; p < parts; p++) {
        float* __restrict c = C + i * N;
        const float* __restrict q = part + p * MN + i * N;
        if (p == 0 && !accumulate) {
          for (idx j = 0; j < N; j++) c[j] = q[j];
        } else {
          for (idx j = 0; j < N; j++) c[j] += q[j];
        }
      }
    return dnnl_success;
  }
  constexpr idx kB = 16;  // blocks: both sides touch whole cache lines
#pragma omp parallel for schedule(static) num_threads(at) if (at > 1)
  for (idx i0 = 0; i0 < M; i0 += kB)
    for (idx j0 = 0; j0 < N; j0 += kB)
      for (idx i = i0; i < std::min(M, i0 + kB); i++)
        for (idx j = j0; j < std::min(N, j0 + kB); j++) {
          float sum = accumulate ? C[i * N + j] : 0.0f;
          for (int p = 0; p < parts; p++) sum += part[p * MN + j * M + i];
          C[i * N + j] = sum;
        }
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
  const int nt = omp_get_max_threads();  // the cost model's cap, in effect here
  if (transA && !transB && !bias) {
    const bool longSum = K >= 8 * std::max(M, N);
    const bool split = nt > 1 && longSum, tall = M >= 2 * N && longSum;
    if (split || tall) return weightGrad(C, A, B, M, K, N, accumulate, tall, split ? nt : 1);
  }
  if (!transA && transB && nt > 1 && ((M >= 128 && M < 2048) || (M >= 8 * K && K > N))) {
    // ∂input of a product over many rows into fewer columns (dY·Wᵀ of c_fc and c_attn): each thread takes its
    // share of the rows in a one-thread sgemm: faster for c_fc and c_attn in a training step; forward products
    // and the MLP c_proj's ∂input (K < N) gained nothing and keep sgemm's own threading.
    // The same for every ∂input over 128 to 2047 rows (the patch decoder's: batch × patches), whatever K and
    // N; from 2048 rows on it gains nothing, nor do weight gradients (Aᵀ·B) over so few rows. (Fewer rows stay
    // whole: decoding's LM head then gives the same bits at every thread count.)
    int team = 1;
    return perThread(nt, &team, [&](int t, int n) {
      const idx m0 = M * t / n, m1 = M * (t + 1) / n;
      return sgemm('N', 'T', m1 - m0, N, K, 1.0f, A + m0 * K, K, B, K, beta, C + m0 * N, N);
    });
  }
  const idx lda = transA ? M : K, ldb = transB ? K : N;
  return sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, N);
}

// The MLP's c_fc and gelu with one pass less over memory than matmul + gelu_forward: no bias rows written
// first and no beta = 1 read of them. One sgemm with oneDNN's own threading (team capped by the cost model,
// as in matmul: splitting rows by hand and calling sgemm inside a parallel region was slower in training and
// left small decoding products on two threads), then one pass adds the bias and takes the gelu.
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
