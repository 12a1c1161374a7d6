// gelu_new forward and backward, elementwise (the expression is in gelu.h).
#include "gelu.h"

#include "kernels.h"

namespace bgpt {

void gelu_forward(float* out, const float* x, idx n) {
  const int nt = threads_for(n * kNsElem);
#pragma omp parallel for simd schedule(static) num_threads(nt) if (nt > 1)
  for (idx i = 0; i < n; i++) out[i] = gelu_value(x[i]);
}

void gelu_backward(float* dx, const float* x, const float* dout, idx n) {
  // With s = 0.5(1 + tanh y): 1 − tanh² y = 4s(1 − s), so gelu' = s + 2x·s(1 − s)·dy/dx.
  const int nt = threads_for(n * kNsElem);
#pragma omp parallel for simd schedule(static) num_threads(nt) if (nt > 1)
  for (idx i = 0; i < n; i++) {
    const float v = x[i];
    const float y = kGeluC * (v + kGeluA * v * v * v);
    const float e = exp_approx(-2.0f * y);
    const float s = 1.0f / (1.0f + e);
    const float oneMinusS = e * s;  // exact form of 1 − s, no cancellation
    const float dy = kGeluC * (1.0f + 3.0f * kGeluA * v * v);
    dx[i] = dout[i] * (s + 2.0f * v * s * oneMinusS * dy);
  }
}

}  // namespace bgpt
