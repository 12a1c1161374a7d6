// oneDNN's row-major sgemm with the calling thread's signals blocked (SignalsBlocked, common.h).
#pragma once

#include <oneapi/dnnl/dnnl.h>

#include "common.h"

namespace bgpt {

inline int sgemm(char transA, char transB, idx M, idx N, idx K, float alpha, const float* A, idx lda, const float* B,
                 idx ldb, float beta, float* C, idx ldc) {
  const SignalsBlocked quiet;
  return dnnl_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace bgpt
