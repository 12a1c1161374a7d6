// Shared helpers for the native kernels: sizes, when to go parallel (a cost model) and a vectorisable exp.
#pragma once

// Loops over a register tile's rows and vectors (constant trip counts): unrolled before GCC decides where the
// tile's sums live. Left to its later unrolling, an array of sums indexed by two nested loops stayed in memory,
// stored after every multiply-add.
#define BGPT_UNROLL _Pragma("GCC unroll 64")

#include <omp.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace bgpt {

using idx = std::int64_t;

// When to run a loop on more than one thread: a cost model in nanoseconds of one thread's work. Waking the
// OpenMP team costs microseconds on a quiet machine and far more on a busy one (a woken thread that finds no
// free core holds the whole team up, so on loaded cores a small parallel loop is many times slower than one
// thread). So a call goes parallel only when one thread would need kParMinNs or more, and each thread
// then gets at least kNsPerThread of the work. Rates are those of one AVX-512 core (conservative for AVX2).
constexpr double kParMinNs = 100e3;
constexpr double kNsPerThread = 50e3;
constexpr double kNsStream = 0.5;   // per float streamed through a simple loop (add, dropout, copies)
constexpr double kNsElem = 1.5;     // per float with some arithmetic (gelu, layernorm, softmax, adamw)
constexpr double kNsMac = 0.02;     // per multiply-add inside a GEMM (cache-resident operands)
constexpr double kNsWeight = 0.16;  // per weight a GEMM reads from memory (a matrix-vector product's limit)

// Elementwise loops open the region and the loop in two pragmas (`parallel ... if (nt > 1)`, then `for simd`):
// GCC 12 runs the combined `parallel for simd` unvectorised when the if clause keeps it on one thread
// (several times slower per element for gelu, add and adamw below the parallel threshold).
// Team size for a call that one thread would finish in `ns` nanoseconds: 1 below the threshold, else as many
// threads as get kNsPerThread each, at most the team size in effect.
inline int threads_for(double ns) {
  if (ns < kParMinNs) return 1;
  const int max = omp_get_max_threads();
  const double n = ns / kNsPerThread;
  return n >= max ? max : (n < 1 ? 1 : static_cast<int>(n));
}

// f(r0, r1) over rows [0, rows) in contiguous shares of nt threads, or straight on the calling thread when nt
// is 1: entering an OpenMP region costs ~0.5 µs even with `if (false)` (libgomp sets up a team of one), which
// decoding's one-row kernels, some 20 calls per byte, would pay each time.
template <class F>
inline void for_rows(idx rows, int nt, F f) {
  if (nt <= 1) return f(idx(0), rows);
#pragma omp parallel num_threads(nt)
  {
    const idx t = omp_get_thread_num(), n = omp_get_num_threads();
    f(rows * t / n, rows * (t + 1) / n);
  }
}

// Estimated one-thread time of C[M,N] = A[M,K]·B[K,N]: compute- or weight-read-bound, whichever is slower.
inline double gemm_ns(idx M, idx K, idx N) {
  const double macs = static_cast<double>(M) * K * N, reads = static_cast<double>(K) * N;
  return macs * kNsMac > reads * kNsWeight ? macs * kNsMac : reads * kNsWeight;
}

// oneDNN's JIT sgemm (its AVX-512 and AVX kernels, through oneDNN 3.11.1: upstream issue 4845) points the stack
// register into a heap buffer while it runs, so a signal handled on that thread writes its frame over the heap:
// seen here as glibc's "corrupted size vs. prev_size" abort under `node --cpu-prof` (SIGPROF), and possible with
// any signal Node handles (SIGINT, SIGWINCH, ...). Every oneDNN call therefore runs with the calling thread's
// signals blocked (a signal that arrives meanwhile is delivered when the call returns, or to another thread),
// and the OpenMP workers that run oneDNN's parallel parts are started with all signals blocked (args.h).
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &prev_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &prev_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t prev_;
};

// Caps the OpenMP team size for the current scope (for libraries that size their own teams, as oneDNN does
// from omp_get_max_threads()); the previous size comes back at the end of the scope.
class ThreadCap {
 public:
  explicit ThreadCap(int n) : prev_(omp_get_max_threads()) {
    if (n < prev_) omp_set_num_threads(n < 1 ? 1 : n);
  }
  ~ThreadCap() {
    if (omp_get_max_threads() != prev_) omp_set_num_threads(prev_);
  }
  ThreadCap(const ThreadCap&) = delete;
  ThreadCap& operator=(const ThreadCap&) = delete;

 private:
  int prev_;
};

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

// fp32 → bf16, to nearest (ties to even); a NaN stays a (quiet) NaN.
inline std::uint16_t round_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
// 16-bit weights widened exactly: bf16 is the top half of a float; IEEE half precision bit by bit (for CPUs
// and tails without the hardware conversion).
inline float bf16_to_float(std::uint16_t h) { return bits_to_float(static_cast<std::int32_t>(static_cast<std::uint32_t>(h) << 16)); }
inline float f16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_float(static_cast<std::int32_t>(sign | 0x7f800000u | (man << 13)));  // inf, nan
  if (exp == 0) {
    const float v = static_cast<float>(man) * 5.9604644775390625e-8f;  // subnormal (or zero): man · 2^−24
    return sign ? -v : v;
  }
  return bits_to_float(static_cast<std::int32_t>(sign | ((exp + 112) << 23) | (man << 13)));
}

// exp_approx's input range (below: 0, no denormals; above: saturated, never inf) and 1/ln 2, shared with exp16.
constexpr float kExpLo = -87.33654f, kExpHi = 88.0f, kLog2e = 1.44269504088896341f;

// exp(xc) for xc in [kExpLo, kExpHi] without its power of two: e^(xc − n·ln 2), n = ⌊xc/ln 2 + ½⌋, by a
// Cody–Waite reduction (ln 2 in two parts) and the Cephes expf polynomial. T is float or vf16 (exp16): one
// expression for both.
template <class T>
inline T exp_reduced(T xc, T n) {
  T r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const T z = r * r;
  T p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * z + r + 1.0f;
}

// exp(x) in float, to about 2 ulp (Cephes expf), written so that GCC vectorises loops that call it.
// Inputs below ln(FLT_MIN) give 0 (no denormals); inputs above 88 saturate at about 1.6e38 (never inf).
inline float exp_approx(float x) {
  const float xc = x < kExpLo ? kExpLo : (x > kExpHi ? kExpHi : x);
  const float n = __builtin_floorf(xc * kLog2e + 0.5f);
  const float scale = bits_to_float((static_cast<std::int32_t>(n) + 127) << 23);
  return x < kExpLo ? 0.0f : exp_reduced(xc, n) * scale;
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
// A broadcast (one load-port op from memory): not vf16{} + x, which the compiler must compute as a scalar
// add first (0 + x turns −0 into +0) and then broadcast on the shuffle port the multiply-adds need.
inline vf16 splat16(float x) { return vf16{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

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

// The largest of the 16 lanes, as a tree like hsum16.
inline float hmax16(vf16 v) {
#ifdef BGPT_HAVE_SHUFFLEVECTOR
  const vf8 a0 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7),
            a1 = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const vf8 a = a0 > a1 ? a0 : a1;
  const vf4 c0 = __builtin_shufflevector(a, a, 0, 1, 2, 3), c1 = __builtin_shufflevector(a, a, 4, 5, 6, 7);
  const vf4 c = c0 > c1 ? c0 : c1;
  return std::max(std::max(c[0], c[2]), std::max(c[1], c[3]));
#else
  float m = v[0];
  for (int j = 1; j < 16; j++) m = std::max(m, v[j]);
  return m;
#endif
}

typedef std::int32_t vi16 __attribute__((vector_size(64)));
// 0, 1, …, 15: lane u of a short row (keys) is compared with it to mask the lanes past a length
inline vi16 iota16() { return vi16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; }

// exp_approx on 16 lanes at once (floor done as a truncation corrected downwards).
inline vf16 exp16(vf16 x) {
  const vf16 lo = splat16(kExpLo), hi = splat16(kExpHi);
  const vf16 xc = x < lo ? lo : (x > hi ? hi : x);
  const vf16 t = xc * kLog2e + 0.5f;
  vf16 n = __builtin_convertvector(__builtin_convertvector(t, vi16), vf16);
  n = n > t ? n - 1.0f : n;
  const vi16 bits = (__builtin_convertvector(n, vi16) + 127) << 23;
  vf16 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < lo ? vf16{} : exp_reduced(xc, n) * scale;
}

}  // namespace bgpt
