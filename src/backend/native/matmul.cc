// Matrix products through oneDNN's sgemm (row-major, OpenMP-threaded by oneDNN itself).
#include <oneapi/dnnl/dnnl.h>

#include <cstring>

#include "kernels.h"

namespace bgpt {

int matmul(float* C, const float* A, const float* B, const float* bias, idx M, idx K, idx N, bool transA,
           bool transB, bool accumulate) {
  if (M == 0 || N == 0) return dnnl_success;
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
  const idx lda = transA ? M : K, ldb = transB ? K : N;
  return dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, N);
}

}  // namespace bgpt
