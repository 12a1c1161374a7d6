// Softmax cross-entropy and row softmax, parallel over rows. Exponentials in float (vectorised), their
// sums and the loss in double.
#include <cmath>
#include <cstring>

#include "kernels.h"

namespace bgpt {

namespace {
inline float row_max(const float* x, idx V) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (idx j = 0; j < V; j++) m = x[j] > m ? x[j] : m;
  return m;
}
}  // namespace

double cross_entropy(float* dlogits, const float* logits, const std::int32_t* targets, idx rows, idx V,
                     float scale) {
  double total = 0;
  const int nt = rows > 1 ? threads_for(rows * V * kNsElem) : 1;
#pragma omp parallel for schedule(static) reduction(+ : total) num_threads(nt) if (nt > 1)
  for (idx r = 0; r < rows; r++) {
    const float* x = logits + r * V;
    float* dl = dlogits ? dlogits + r * V : nullptr;  // may be x itself
    const std::int32_t y = targets[r];
    if (y < 0) {
      if (dl) std::memset(dl, 0, sizeof(float) * V);
      continue;
    }
    const float mx = row_max(x, V), xy = x[y];
    double sum = 0;
    if (dl) {
#pragma omp simd reduction(+ : sum)
      for (idx j = 0; j < V; j++) {
        const float e = exp_approx(x[j] - mx);
        dl[j] = e;
        sum += e;
      }
    } else {
#pragma omp simd reduction(+ : sum)
      for (idx j = 0; j < V; j++) sum += exp_approx(x[j] - mx);
    }
    total += std::log(sum) + (static_cast<double>(mx) - xy);
    if (dl) {
      const float ey = dl[y];
      const float k = static_cast<float>(scale / sum);
#pragma omp simd
      for (idx j = 0; j < V; j++) dl[j] *= k;
      // p_y − 1 = −Σ_{j≠y} e_j / Σ e_j, formed in double: no cancellation when the model is confident.
      dl[y] = static_cast<float>(-(sum - ey) / sum * scale);
    }
  }
  return total;
}

void softmax(float* out, const float* x, idx rows, idx V) {
  const int nt = rows > 1 ? threads_for(rows * V * kNsElem) : 1;
  for_rows(rows, nt, [&](idx r0, idx r1) {
    for (idx r = r0; r < r1; r++) {
      const float* xr = x + r * V;
      float* o = out + r * V;  // may be xr itself
      const float mx = row_max(xr, V);
      double sum = 0;
#pragma omp simd reduction(+ : sum)
      for (idx j = 0; j < V; j++) {
        const float e = exp_approx(xr[j] - mx);
        o[j] = e;
        sum += e;
      }
      const float k = static_cast<float>(1.0 / sum);
#pragma omp simd
      for (idx j = 0; j < V; j++) o[j] *= k;
    }
  });
}

}  // namespace bgpt
