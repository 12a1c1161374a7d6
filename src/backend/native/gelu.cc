// gelu_new forward and backward, elementwise (the expression is in gelu.h).
#include "gelu.h"

#include <omp.h>

#include <vector>

#include "kernels.h"

namespace bgpt {

void gelu_forward(float* out, const float* x, idx n) {
  const int nt = threads_for(n * kNsElem);
#pragma omp parallel num_threads(nt) if (nt > 1)
#pragma omp for simd schedule(static)
  for (idx i = 0; i < n; i++) out[i] = gelu_value(x[i]);
}

void gelu_backward(float* dx, const float* x, const float* dout, idx n) {
  const int nt = threads_for(n * kNsElem);
#pragma omp parallel num_threads(nt) if (nt > 1)
#pragma omp for simd schedule(static)
  for (idx i = 0; i < n; i++) dx[i] = dout[i] * gelu_grad(x[i]);
}

void gelu_backward_bias_grad(float* dx, float* db, const float* x, const float* dout, idx M, idx N,
                             bool accumulate) {
  // as bias_grad: each thread sums its block of rows into a private double row, added in thread order
  const int nt = M > 1 ? threads_for(M * N * kNsElem) : 1;
  std::vector<double> part(static_cast<size_t>(nt) * N, 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = omp_get_thread_num(), team = omp_get_num_threads();
    double* s = part.data() + static_cast<size_t>(tid) * N;
    for (idx i = M * tid / team; i < M * (tid + 1) / team; i++) {
      const float* __restrict xi = x + i * N;
      const float* __restrict di = dout + i * N;
      float* __restrict oi = dx + i * N;
#pragma omp simd
      for (idx j = 0; j < N; j++) {
        const float v = di[j] * gelu_grad(xi[j]);
        oi[j] = v;
        s[j] += v;
      }
    }
  }
  for (idx j = 0; j < N; j++) {
    double s = 0;
    for (int t = 0; t < nt; t++) s += part[static_cast<size_t>(t) * N + j];
    db[j] = accumulate ? static_cast<float>(db[j] + s) : static_cast<float>(s);
  }
}

}  // namespace bgpt
