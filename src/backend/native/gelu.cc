// gelu_new, the tanh approximation of GPT-2: 0.5·x·(1 + tanh(y)), y = √(2/π)(x + 0.044715x³).
// Written through the logistic function, 0.5(1 + tanh y) = 1/(1 + e^(−2y)), which keeps full relative
// precision in both tails and needs one exp.
#include "kernels.h"

namespace bgpt {

namespace {
constexpr float kC = 0.7978845608028654f;  // √(2/π)
constexpr float kA = 0.044715f;
}  // namespace

void gelu_forward(float* out, const float* x, idx n) {
  const int nt = threads_for(n * kNsElem);
#pragma omp parallel for simd schedule(static) num_threads(nt) if (nt > 1)
  for (idx i = 0; i < n; i++) {
    const float v = x[i];
    const float y = kC * (v + kA * v * v * v);
    out[i] = v / (1.0f + exp_approx(-2.0f * y));
  }
}

void gelu_backward(float* dx, const float* x, const float* dout, idx n) {
  // With s = 0.5(1 + tanh y): 1 − tanh² y = 4s(1 − s), so gelu' = s + 2x·s(1 − s)·dy/dx.
  const int nt = threads_for(n * kNsElem);
#pragma omp parallel for simd schedule(static) num_threads(nt) if (nt > 1)
  for (idx i = 0; i < n; i++) {
    const float v = x[i];
    const float y = kC * (v + kA * v * v * v);
    const float e = exp_approx(-2.0f * y);
    const float s = 1.0f / (1.0f + e);
    const float oneMinusS = e * s;  // exact form of 1 − s, no cancellation
    const float dy = kC * (1.0f + 3.0f * kA * v * v);
    dx[i] = dout[i] * (s + 2.0f * v * s * oneMinusS * dy);
  }
}

}  // namespace bgpt
