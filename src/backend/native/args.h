// Argument checking for the Node-API entry points. Every kernel reads and writes raw memory, so before a
// call each array is checked to be of the right type and long enough for the shape, each size to be a
// non-negative integer, and each token to index inside its table. A failed check throws a JS TypeError
// (RangeError for token values) naming the kernel and the argument.
#pragma once

#include <napi.h>
#include <omp.h>

#include <atomic>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include "common.h"

namespace bgpt {

// Product of sizes, saturating at INT64_MAX (no array is that long, so the length check then fails).
inline idx prod(std::initializer_list<idx> dims) {
  for (idx d : dims)
    if (d == 0) return 0;
  idx p = 1;
  for (idx d : dims)
    if (__builtin_mul_overflow(p, d, &p)) return std::numeric_limits<idx>::max();
  return p;
}

// The team size set by setThreads / BGPT_THREADS (0: OpenMP's default). OpenMP keeps it per calling thread,
// so every entry point re-applies it: a kernel called from a worker_thread then uses it too (oneDNN included).
inline std::atomic<int> gThreads{0};

// The OpenMP workers of the calling thread's team inherit its signal mask when they start, at the first parallel
// region that needs them: started here with every signal blocked (see SignalsBlocked in common.h), once per
// team size reached.
inline void applyThreads() {
  const int n = gThreads.load(std::memory_order_relaxed);
  if (n > 0 && omp_get_max_threads() != n) omp_set_num_threads(n);
  thread_local int started = 1;
  if (const int want = omp_get_max_threads(); want > started) {
    const SignalsBlocked quiet;
#pragma omp parallel num_threads(want)
    { /* the workers start, blocked */ }
    started = want;
  }
}

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* kernel, size_t count) : info_(info), kernel_(kernel) {
    applyThreads();
    if (info.Length() < count)
      fail("expects " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()));
  }

  [[noreturn]] void fail(const std::string& msg) const {
    throw Napi::TypeError::New(info_.Env(), std::string("bgpt native ") + kernel_ + ": " + msg);
  }

  // A non-negative integer size (a safe JS integer).
  idx dim(size_t i, const char* name) const {
    const Napi::Value v = info_[i];
    if (!v.IsNumber()) fail(std::string(name) + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d)
      fail(std::string(name) + " must be a non-negative integer, got " + std::to_string(d));
    return static_cast<idx>(d);
  }

  double num(size_t i, const char* name) const {
    const Napi::Value v = info_[i];
    if (!v.IsNumber()) fail(std::string(name) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }

  bool flag(size_t i) const { return info_[i].ToBoolean().Value(); }

  bool isNull(size_t i) const { return info_[i].IsNull() || info_[i].IsUndefined(); }

  Napi::Env env() const { return info_.Env(); }
  const char* kernel() const { return kernel_; }
  const Napi::CallbackInfo& info() const { return info_; }

  float* f32(size_t i, const char* name, idx need) const {
    return typed<float, napi_float32_array>(i, name, need, "Float32Array");
  }
  float* f32OrNull(size_t i, const char* name, idx need) const { return isNull(i) ? nullptr : f32(i, name, need); }

  const std::int32_t* i32(size_t i, const char* name, idx need) const {
    return typed<std::int32_t, napi_int32_array>(i, name, need, "Int32Array");
  }

  const std::uint16_t* u16(size_t i, const char* name, idx need) const {
    return typed<std::uint16_t, napi_uint16_array>(i, name, need, "Uint16Array");
  }

  // Every value in [lo, hi) (lo may be negative to allow the "no token" convention).
  void tokensIn(const std::int32_t* t, idx n, const char* name, std::int64_t lo, std::int64_t hi) const {
    bool ok = true;
    for (idx i = 0; i < n; i++) ok &= (t[i] >= lo) & (t[i] < hi);
    if (ok) return;
    for (idx i = 0; i < n; i++)
      if (t[i] < lo || t[i] >= hi)
        throw Napi::RangeError::New(info_.Env(), std::string("bgpt native ") + kernel_ + ": " + name + "[" +
                                                     std::to_string(i) + "] = " + std::to_string(t[i]) +
                                                     " is outside [" + std::to_string(lo) + ", " +
                                                     std::to_string(hi) + ")");
  }

  // Length of a typed array argument in elements (for tables whose row count is not passed).
  idx length(size_t i) const { return static_cast<idx>(info_[i].As<Napi::TypedArray>().ElementLength()); }

 private:
  // One napi_get_typedarray_info call gives the type, the length and the data (node-addon-api's accessors make
  // one call each: with eight arrays per call, ~1 µs of a decoding step's small kernels); it fails on anything
  // that is not a typed array.
  template <typename T, napi_typedarray_type kType>
  T* typed(size_t i, const char* name, idx need, const char* typeName) const {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(info_.Env(), info_[i], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != kType)
      fail(std::string(name) + " must be a " + typeName);
    if (static_cast<idx>(length) < need)
      fail(std::string(name) + " has " + std::to_string(length) + " elements, the shape needs " +
           std::to_string(need));
    return static_cast<T*>(data);  // already offset by the view's byteOffset: zero-copy
  }

  const Napi::CallbackInfo& info_;
  const char* kernel_;
};

}  // namespace bgpt
