// Bias gradient, residual adds and dropout: memory-bound loops, parallel over the flat range.
#include <omp.h>

#include <vector>

#include "kernels.h"

namespace bgpt {

void bias_grad(float* db, const float* dY, idx M, idx N, bool accumulate) {
  // Each thread sums its block of rows into a private double row; the rows are then added in thread order.
  const int nt = M > 1 ? threads_for(M * N * kNsStream) : 1;
  std::vector<double> part(static_cast<size_t>(nt) * N, 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = omp_get_thread_num(), team = omp_get_num_threads();
    double* s = part.data() + static_cast<size_t>(tid) * N;
    const idx r0 = M * tid / team, r1 = M * (tid + 1) / team;
    for (idx i = r0; i < r1; i++) {
      const float* y = dY + i * N;
#pragma omp simd
      for (idx j = 0; j < N; j++) s[j] += y[j];
    }
  }
  for (idx j = 0; j < N; j++) {
    double s = 0;
    for (int t = 0; t < nt; t++) s += part[static_cast<size_t>(t) * N + j];
    db[j] = accumulate ? static_cast<float>(db[j] + s) : static_cast<float>(s);
  }
}

void add_in_place(float* y, const float* x, idx n) {
  const int nt = threads_for(n * kNsStream);
#pragma omp parallel num_threads(nt) if (nt > 1)
#pragma omp for simd schedule(static)
  for (idx i = 0; i < n; i++) y[i] += x[i];
}

// The mask is recomputed from (seed, i) on every call: two fmix32 per element, in vector registers.
void dropout(float* x, idx n, double p, std::uint32_t seed) {
  if (p == 0.0) return;
  const DropParams dp(p, seed);
  const std::uint32_t key = dp.key, thr = dp.threshold;
  const float sc = dp.scale;
  const int nt = threads_for(n * kNsStream);
#pragma omp parallel num_threads(nt) if (nt > 1)
#pragma omp for simd schedule(static)
  for (idx i = 0; i < n; i++) x[i] = drop_hash(key, static_cast<std::uint32_t>(i)) >= thr ? x[i] * sc : 0.0f;
}

}  // namespace bgpt
