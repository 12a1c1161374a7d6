// torch.optim.AdamW (decoupled weight decay), one fused pass over the flat arrays. Scalars are formed in
// double as torch does in Python; the per-element arithmetic is float32, as in torch's kernels.
#include <cmath>

#include "kernels.h"

namespace bgpt {

void adamw(float* p, const float* g, float* m, float* v, idx n, double lr, double beta1, double beta2, double eps,
           double weightDecay, double step) {
  const double bc1 = 1.0 - std::pow(beta1, step), bc2 = 1.0 - std::pow(beta2, step);
  const float decay = static_cast<float>(1.0 - lr * weightDecay);
  const float b1 = static_cast<float>(beta1), c1 = static_cast<float>(1.0 - beta1);
  const float b2 = static_cast<float>(beta2), c2 = static_cast<float>(1.0 - beta2);
  const float stepSize = static_cast<float>(lr / bc1), bc2Sqrt = static_cast<float>(std::sqrt(bc2));
  const float e = static_cast<float>(eps);
  const int nt = threads_for(n * 2 * kNsElem);
#pragma omp parallel num_threads(nt) if (nt > 1)
#pragma omp for simd schedule(static)
  for (idx i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = b1 * m[i] + c1 * gi;
    const float vi = b2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - stepSize * (mi / (std::sqrt(vi) / bc2Sqrt + e));
  }
}

}  // namespace bgpt
