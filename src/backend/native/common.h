// Shared helpers for the native kernels: sizes, the parallel threshold and a vectorisable exp.
#pragma once

#include <cstdint>
#include <cstring>

namespace bgpt {

using idx = std::int64_t;

// Below this many elements (or multiply-adds) a loop runs on the calling thread: waking the OpenMP team
// costs a few microseconds, more than the work itself.
constexpr idx kParMin = idx(1) << 15;

// GPT-2's fill value for masked and future attention scores (transformers 4.18 `masked_bias`).
constexpr float kNeg = -10000.0f;

inline float bits_to_float(std::int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

// exp(x) in float, to about 2 ulp (Cephes expf), written so that GCC vectorises loops that call it.
// Inputs below ln(FLT_MIN) give 0 (no denormals); inputs above 88 saturate at about 1.6e38 (never inf).
inline float exp_approx(float x) {
  const float lo = -87.33654f, hi = 88.0f;
  float xc = x < lo ? lo : (x > hi ? hi : x);
  float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;  // ln 2 in two parts (Cody–Waite)
  r = r - n * -2.12194440e-4f;
  float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  float scale = bits_to_float((static_cast<std::int32_t>(n) + 127) << 23);
  return x < lo ? 0.0f : p * scale;
}

}  // namespace bgpt
