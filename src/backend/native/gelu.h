// gelu_new, the tanh approximation of GPT-2: 0.5·x·(1 + tanh(y)), y = √(2/π)(x + 0.044715x³).
// Written through the logistic function, 0.5(1 + tanh y) = 1/(1 + e^(−2y)), which keeps full relative
// precision in both tails and needs one exp. Inline so that the matrix product's epilogue (matmul.cc) and
// the elementwise kernels (gelu.cc) vectorise the same expression.
#pragma once

#include "common.h"

namespace bgpt {

constexpr float kGeluC = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluA = 0.044715f;

inline float gelu_value(float v) {
  const float y = kGeluC * (v + kGeluA * v * v * v);
  return v / (1.0f + exp_approx(-2.0f * y));
}

// gelu_new'(v): with s = 0.5(1 + tanh y), 1 − tanh² y = 4s(1 − s), so gelu' = s + 2v·s(1 − s)·dy/dv.
inline float gelu_grad(float v) {
  const float y = kGeluC * (v + kGeluA * v * v * v);
  const float e = exp_approx(-2.0f * y);
  const float s = 1.0f / (1.0f + e);
  const float oneMinusS = e * s;  // exact form of 1 − s, no cancellation
  const float dy = kGeluC * (1.0f + 3.0f * kGeluA * v * v);
  return s + 2.0f * v * s * oneMinusS * dy;
}

}  // namespace bgpt
