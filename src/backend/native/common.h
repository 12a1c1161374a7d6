// Shared helpers for the native kernels: sizes, the parallel threshold and a vectorisable exp.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace bgpt {

using idx = std::int64_t;

// Below this many elements (or multiply-adds) a loop runs on the calling thread: waking the OpenMP team
// costs a few microseconds, more than the work itself.
constexpr idx kParMin = idx(1) << 15;

// Dropout's keep mask (the Conventions of src/backend/types.ts): element i is kept when
// drop_hash(key, i) >= threshold, key = fmix32(seed). Plain uint32 arithmetic, so loops over i vectorise.
inline std::uint32_t fmix32(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}
inline std::uint32_t drop_hash(std::uint32_t key, std::uint32_t i) { return fmix32(fmix32(i ^ key) + key); }

// The per-call constants of dropout with probability p in [0, 1) (checked by the caller).
struct DropParams {
  std::uint32_t key, threshold;
  float scale;
  DropParams(double p, std::uint32_t seed) : key(fmix32(seed)) {
    const double t = std::floor(p * 4294967296.0);
    threshold = t >= 4294967295.0 ? 0xffffffffu : static_cast<std::uint32_t>(t);
    scale = static_cast<float>(1.0 / (1.0 - p));
  }
};

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

// 16 floats as one value (GCC/Clang vector extension): one AVX-512 register, or two AVX / four SSE ones
// on CPUs without it. Loads and stores go through memcpy, so any float pointer works (no alignment).
typedef float vf16 __attribute__((vector_size(64)));
typedef float vf8 __attribute__((vector_size(32)));
typedef float vf4 __attribute__((vector_size(16)));

inline vf16 load16(const float* p) {
  vf16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, vf16 v) { std::memcpy(p, &v, sizeof v); }
inline vf16 splat16(float x) { return vf16{} + x; }

// Sum of the 16 lanes as a tree (8 + 8, 4 + 4, then 4 scalars), in registers where the compiler has
// __builtin_shufflevector (GCC 12+, Clang), through memory otherwise.
inline float hsum16(vf16 v) {
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define BGPT_HAVE_SHUFFLEVECTOR 1
#endif
#endif
#ifdef BGPT_HAVE_SHUFFLEVECTOR
  const vf8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const vf4 c = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
#else
  vf8 a, b;
  std::memcpy(&a, &v, sizeof a);
  std::memcpy(&b, reinterpret_cast<const char*>(&v) + sizeof a, sizeof b);
  a += b;
  vf4 c, d;
  std::memcpy(&c, &a, sizeof c);
  std::memcpy(&d, reinterpret_cast<const char*>(&a) + sizeof c, sizeof d);
  c += d;
#endif
  return (c[0] + c[2]) + (c[1] + c[3]);
}

}  // namespace bgpt
