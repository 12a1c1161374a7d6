// Node-API entry points: check the arguments (args.h), then call the kernel on the arrays' own memory.
#include <napi.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "args.h"
#include "kernels.h"

namespace bgpt {

void RegisterExact(Napi::Env env, Napi::Object exports);  // exact-binding.cc

namespace {

using Info = const Napi::CallbackInfo&;

Napi::Value Matmul(Info info) {
  Args a(info, "matmul", 10);
  const idx M = a.dim(4, "M"), K = a.dim(5, "K"), N = a.dim(6, "N");
  const bool tA = a.flag(7), tB = a.flag(8), acc = a.flag(9);
  float* C = a.f32(0, "C", prod({M, N}));
  const float* A = a.f32(1, "A", prod({M, K}));
  const float* B = a.f32(2, "B", prod({K, N}));
  const float* bias = a.f32OrNull(3, "bias", N);
  const int st = matmul(C, A, B, bias, M, K, N, tA, tB, acc);
  if (st != dnnl_success) a.fail("oneDNN sgemm failed with status " + std::to_string(st));
  return info.Env().Undefined();
}

Napi::Value MatmulW16(Info info) {
  Args a(info, "matmulW16", 8);
  const idx M = a.dim(4, "M"), K = a.dim(5, "K"), N = a.dim(6, "N");
  float* C = a.f32(0, "C", prod({M, N}));
  const float* A = a.f32(1, "A", prod({M, K}));
  const std::uint16_t* W = a.u16(2, "W", prod({K, N}));
  const float* bias = a.f32OrNull(3, "bias", N);
  if (!a.info()[7].IsString()) a.fail("dtype must be \"bf16\" or \"f16\"");
  const std::string dt = a.info()[7].As<Napi::String>().Utf8Value();
  if (dt != "bf16" && dt != "f16") a.fail("dtype must be \"bf16\" or \"f16\", not \"" + dt + "\"");
  bool bf16Activations = false;
  if (a.info().Length() > 8 && !a.info()[8].IsUndefined()) {
    if (!a.info()[8].IsBoolean()) a.fail("bf16Activations must be a boolean");
    bf16Activations = a.info()[8].As<Napi::Boolean>().Value();
    if (bf16Activations && dt != "bf16") a.fail("bf16Activations needs bf16 weights, not " + dt);
  }
  const int st = matmul_w16(C, A, W, bias, M, K, N, dt == "f16", bf16Activations);
  if (st != dnnl_success) a.fail("oneDNN sgemm failed with status " + std::to_string(st));
  return info.Env().Undefined();
}

// An operand of matmulBf16: a Float32Array (rounded to bf16 by the kernel) or a Uint16Array of bf16 bits.
const void* bf16Operand(const Args& a, size_t i, const char* name, idx need, bool& isBf16) {
  const Napi::Value v = a.info()[i];
  isBf16 = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array;
  if (isBf16) return a.u16(i, name, need);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    a.fail(std::string(name) + " must be a Float32Array or a Uint16Array (bf16)");
  return a.f32(i, name, need);
}

Napi::Value MatmulBf16(Info info) {
  Args a(info, "matmulBf16", 10);
  const idx M = a.dim(4, "M"), K = a.dim(5, "K"), N = a.dim(6, "N");
  const bool tA = a.flag(7), tB = a.flag(8), acc = a.flag(9);
  float* C = a.f32(0, "C", prod({M, N}));
  bool aBf16, bBf16;
  const void* A = bf16Operand(a, 1, "A", prod({M, K}), aBf16);
  const void* B = bf16Operand(a, 2, "B", prod({K, N}), bBf16);
  const float* bias = a.f32OrNull(3, "bias", N);
  const int st = matmul_bf16(C, A, aBf16, B, bBf16, bias, M, K, N, tA, tB, acc);
  if (st != dnnl_success) a.fail("oneDNN bf16 matmul failed with status " + std::to_string(st));
  return info.Env().Undefined();
}

Napi::Value ToBf16(Info info) {
  Args a(info, "toBf16", 3);
  const idx n = a.dim(2, "n");
  std::uint16_t* out = const_cast<std::uint16_t*>(a.u16(0, "out", n));
  const float* x = a.f32(1, "x", n);
  to_bf16(out, x, n);
  return info.Env().Undefined();
}

Napi::Value MatmulBiasGelu(Info info) {
  Args a(info, "matmulBiasGelu", 8);
  const idx M = a.dim(5, "M"), K = a.dim(6, "K"), N = a.dim(7, "N");
  float* G = a.f32(0, "out", prod({M, N}));
  float* C = a.f32(1, "pre", prod({M, N}));
  const float* A = a.f32(2, "A", prod({M, K}));
  const float* B = a.f32(3, "B", prod({K, N}));
  const float* bias = a.f32(4, "bias", N);
  const int st = matmul_bias_gelu(G, C, A, B, bias, M, K, N);
  if (st != dnnl_success) a.fail("oneDNN sgemm failed with status " + std::to_string(st));
  return info.Env().Undefined();
}

Napi::Value BiasGrad(Info info) {
  Args a(info, "biasGrad", 5);
  const idx M = a.dim(2, "M"), N = a.dim(3, "N");
  float* db = a.f32(0, "db", N);
  const float* dY = a.f32(1, "dY", prod({M, N}));
  bias_grad(db, dY, M, N, a.flag(4));
  return info.Env().Undefined();
}

Napi::Value AddInPlace(Info info) {
  Args a(info, "addInPlace", 3);
  const idx n = a.dim(2, "n");
  float* y = a.f32(0, "y", n);
  const float* x = a.f32(1, "x", n);
  add_in_place(y, x, n);
  return info.Env().Undefined();
}

Napi::Value LayerNormForward(Info info) {
  Args a(info, "layerNormForward", 9);
  const idx rows = a.dim(6, "rows"), H = a.dim(7, "H");
  const float eps = static_cast<float>(a.num(8, "eps"));
  const idx n = prod({rows, H});
  float* out = a.f32(0, "out", n);
  float* mean = a.f32(1, "mean", rows);
  float* rstd = a.f32(2, "rstd", rows);
  const float* x = a.f32(3, "x", n);
  const float* w = a.f32(4, "w", H);
  const float* b = a.f32(5, "b", H);
  layernorm_forward(out, mean, rstd, x, w, b, rows, H, eps);
  return info.Env().Undefined();
}

Napi::Value AddLayerNormForward(Info info) {
  Args a(info, "addLayerNormForward", 11);
  const idx rows = a.dim(8, "rows"), H = a.dim(9, "H");
  const float eps = static_cast<float>(a.num(10, "eps"));
  const idx n = prod({rows, H});
  float* sum = a.f32(0, "sum", n);
  float* out = a.f32(1, "out", n);
  float* mean = a.f32(2, "mean", rows);
  float* rstd = a.f32(3, "rstd", rows);
  const float* x = a.f32(4, "a", n);
  const float* y = a.f32(5, "b", n);
  const float* w = a.f32(6, "w", H);
  const float* b = a.f32(7, "bias", H);
  add_layernorm_forward(sum, out, mean, rstd, x, y, w, b, rows, H, eps);
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(Info info) {
  Args a(info, "layerNormBackward", 10);
  const idx rows = a.dim(8, "rows"), H = a.dim(9, "H");
  const idx n = prod({rows, H});
  float* dx = a.f32(0, "dx", n);
  float* dw = a.f32(1, "dw", H);
  float* db = a.f32(2, "db", H);
  const float* dout = a.f32(3, "dout", n);
  const float* x = a.f32(4, "x", n);
  const float* mean = a.f32(5, "mean", rows);
  const float* rstd = a.f32(6, "rstd", rows);
  const float* w = a.f32(7, "w", H);
  layernorm_backward(dx, dw, db, dout, x, mean, rstd, w, rows, H);
  return info.Env().Undefined();
}

Napi::Value GeluForward(Info info) {
  Args a(info, "geluForward", 3);
  const idx n = a.dim(2, "n");
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "x", n);
  gelu_forward(out, x, n);
  return info.Env().Undefined();
}

Napi::Value GeluBackwardBiasGrad(Info info) {
  Args a(info, "geluBackwardBiasGrad", 7);
  const idx M = a.dim(4, "M"), N = a.dim(5, "N");
  const idx n = prod({M, N});
  float* dx = a.f32(0, "dx", n);
  float* db = a.f32(1, "db", N);
  const float* x = a.f32(2, "x", n);
  const float* dout = a.f32(3, "dout", n);
  gelu_backward_bias_grad(dx, db, x, dout, M, N, a.flag(6));
  return info.Env().Undefined();
}

Napi::Value GeluBackward(Info info) {
  Args a(info, "geluBackward", 4);
  const idx n = a.dim(3, "n");
  float* dx = a.f32(0, "dx", n);
  const float* x = a.f32(1, "x", n);
  const float* dout = a.f32(2, "dout", n);
  gelu_backward(dx, x, dout, n);
  return info.Env().Undefined();
}

// Dropout's p (argument i; undefined counts as 0 when optional) and seed (argument i + 1, taken as uint32
// like JS `seed >>> 0`; undefined counts as 0).
double dropP(const Args& a, size_t i, const char* name, bool optional) {
  const double p = optional && a.isNull(i) ? 0.0 : a.num(i, name);
  if (!(p >= 0.0 && p < 1.0)) {
    throw Napi::RangeError::New(a.env(), std::string("bgpt native ") + a.kernel() + ": dropout " + name +
                                             " must be in [0, 1), got " + std::to_string(p));
  }
  return p;
}

std::uint32_t dropSeed(const Args& a, size_t i) {
  if (a.isNull(i)) return 0;
  a.num(i, "seed");  // a number
  return a.info()[i].As<Napi::Number>().Uint32Value();  // ToUint32: NaN, ±Infinity → 0; mod 2^32
}

Napi::Value Dropout(Info info) {
  Args a(info, "dropout", 4);
  const idx n = a.dim(1, "n");
  if (n > (idx(1) << 32)) a.fail("n must be at most 2^32 (the mask hashes a uint32 element index)");
  float* x = a.f32(0, "x", n);
  const double p = dropP(a, 2, "p", false);
  dropout(x, n, p, dropSeed(a, 3));
  return info.Env().Undefined();
}

struct AttnShape {
  idx B, T, H, nHead;
};

AttnShape attnShape(const Args& a, size_t first) {
  AttnShape s{a.dim(first, "B"), a.dim(first + 1, "T"), a.dim(first + 2, "H"), a.dim(first + 3, "nHead")};
  if (s.nHead == 0 || s.H % s.nHead != 0) a.fail("nHead must be positive and divide H");
  return s;
}

Napi::Value AttentionForward(Info info) {
  Args a(info, "attentionForward", 9);
  const AttnShape s = attnShape(a, 4);
  const double maskValue = a.num(8, "maskValue");
  if (!std::isfinite(maskValue))
    throw Napi::RangeError::New(a.env(), "bgpt native attentionForward: maskValue must be finite, got " +
                                             std::to_string(maskValue));
  float* out = a.f32(0, "out", prod({s.B, s.T, s.H}));
  float* att = a.f32(1, "att", prod({s.B, s.nHead, s.T, s.T}));
  const float* qkv = a.f32(2, "qkv", prod({s.B, s.T, 3, s.H}));
  const float* mask = a.f32OrNull(3, "mask", prod({s.B, s.T}));
  const double p = dropP(a, 9, "dropP", true);
  attention_forward(out, att, qkv, mask, s.B, s.T, s.H, s.nHead, static_cast<float>(maskValue), p, dropSeed(a, 10));
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(Info info) {
  Args a(info, "attentionBackward", 8);
  const AttnShape s = attnShape(a, 4);
  float* dqkv = a.f32(0, "dqkv", prod({s.B, s.T, 3, s.H}));
  const float* dout = a.f32(1, "dout", prod({s.B, s.T, s.H}));
  const float* qkv = a.f32(2, "qkv", prod({s.B, s.T, 3, s.H}));
  const float* att = a.f32(3, "att", prod({s.B, s.nHead, s.T, s.T}));
  const double p = dropP(a, 8, "dropP", true);
  attention_backward(dqkv, dout, qkv, att, s.B, s.T, s.H, s.nHead, p, dropSeed(a, 9));
  return info.Env().Undefined();
}

Napi::Value AttentionCached(Info info) {
  Args a(info, "attentionCached", 11);
  const AttnShape s = attnShape(a, 6);
  const idx capacity = a.dim(10, "capacity");
  float* out = a.f32(0, "out", prod({s.B, s.T, s.H}));
  const float* qkv = a.f32(1, "qkv", prod({s.B, s.T, 3, s.H}));
  const idx rowFloats = prod({capacity, s.H});
  float* keys = a.f32(2, "keys", rowFloats);
  const idx nSlots = rowFloats == 0 ? 0 : a.length(2) / rowFloats;
  float* values = a.f32(3, "values", prod({nSlots, rowFloats}));
  const std::int32_t* slots = a.i32(4, "slots", s.B);
  const std::int32_t* past = a.i32(5, "past", s.B);
  a.tokensIn(slots, s.B, "slots", 0, nSlots);
  a.tokensIn(past, s.B, "past", 0, capacity - s.T + 1);
  std::vector<bool> used(static_cast<size_t>(nSlots), false);
  for (idx b = 0; b < s.B; b++) {
    if (used[slots[b]]) a.fail("slots must be distinct (slot " + std::to_string(slots[b]) + " appears twice)");
    used[slots[b]] = true;
  }
  attention_cached(out, qkv, keys, values, slots, past, s.B, s.T, s.H, s.nHead, capacity);
  return info.Env().Undefined();
}

Napi::Value PatchEmbedForward(Info info) {
  Args a(info, "patchEmbedForward", 8);
  const idx rows = a.dim(4, "rows"), S = a.dim(5, "S"), H = a.dim(6, "H"), V = a.dim(7, "V");
  float* out = a.f32(0, "out", prod({rows, H}));
  const float* W = a.f32(1, "W", prod({H, S, V}));
  const float* bias = a.f32(2, "bias", H);
  const std::int32_t* tok = a.i32(3, "tokens", prod({rows, S}));
  a.tokensIn(tok, rows * S, "tokens", 0, V);
  patch_embed_forward(out, W, bias, tok, rows, S, H, V);
  return info.Env().Undefined();
}

Napi::Value PatchEmbedBackward(Info info) {
  Args a(info, "patchEmbedBackward", 8);
  const idx rows = a.dim(4, "rows"), S = a.dim(5, "S"), H = a.dim(6, "H"), V = a.dim(7, "V");
  float* dW = a.f32(0, "dW", prod({H, S, V}));
  float* dbias = a.f32(1, "dbias", H);
  const float* dout = a.f32(2, "dout", prod({rows, H}));
  const std::int32_t* tok = a.i32(3, "tokens", prod({rows, S}));
  a.tokensIn(tok, rows * S, "tokens", 0, V);
  patch_embed_backward(dW, dbias, dout, tok, rows, S, H, V);
  return info.Env().Undefined();
}

// Shared checks of embedForward / embedBackward: returns the tokens after range-checking them against the
// number of rows of the (d)wte table in argument `table` (its length / H).
const std::int32_t* embedTokens(const Args& a, idx rows, idx T, idx H, size_t table) {
  if (rows > 0 && T == 0) a.fail("T must be positive");
  const std::int32_t* tok = a.i32(3, "tokens", rows);
  const idx vocab = H > 0 ? a.length(table) / H : std::numeric_limits<std::int32_t>::max();
  a.tokensIn(tok, rows, "tokens", std::numeric_limits<std::int32_t>::min(), vocab);
  return tok;
}

Napi::Value EmbedForward(Info info) {
  Args a(info, "embedForward", 7);
  const idx rows = a.dim(4, "rows"), T = a.dim(5, "T"), H = a.dim(6, "H");
  float* out = a.f32(0, "out", prod({rows, H}));
  const float* wte = a.f32(1, "wte", 0);
  const float* wpe = a.f32(2, "wpe", prod({std::min(rows, T), H}));
  const std::int32_t* tok = embedTokens(a, rows, T, H, 1);
  embed_forward(out, wte, wpe, tok, rows, T, H);
  return info.Env().Undefined();
}

Napi::Value EmbedBackward(Info info) {
  Args a(info, "embedBackward", 7);
  const idx rows = a.dim(4, "rows"), T = a.dim(5, "T"), H = a.dim(6, "H");
  float* dwte = a.f32(0, "dwte", 0);
  float* dwpe = a.f32(1, "dwpe", prod({std::min(rows, T), H}));
  const float* dout = a.f32(2, "dout", prod({rows, H}));
  const std::int32_t* tok = embedTokens(a, rows, T, H, 0);
  embed_backward(dwte, dwpe, dout, tok, rows, T, H);
  return info.Env().Undefined();
}

Napi::Value CrossEntropy(Info info) {
  Args a(info, "crossEntropy", 6);
  const idx rows = a.dim(3, "rows"), V = a.dim(4, "V");
  const float scale = static_cast<float>(a.num(5, "scale"));
  float* dl = a.f32OrNull(0, "dlogits", prod({rows, V}));
  const float* logits = a.f32(1, "logits", prod({rows, V}));
  const std::int32_t* tgt = a.i32(2, "targets", rows);
  a.tokensIn(tgt, rows, "targets", std::numeric_limits<std::int32_t>::min(), V);
  return Napi::Number::New(info.Env(), cross_entropy(dl, logits, tgt, rows, V, scale));
}

Napi::Value Softmax(Info info) {
  Args a(info, "softmax", 4);
  const idx rows = a.dim(2, "rows"), V = a.dim(3, "V");
  float* out = a.f32(0, "out", prod({rows, V}));
  const float* x = a.f32(1, "x", prod({rows, V}));
  softmax(out, x, rows, V);
  return info.Env().Undefined();
}

Napi::Value AdamW(Info info) {
  Args a(info, "adamw", 11);
  const idx n = a.dim(4, "n");
  float* p = a.f32(0, "p", n);
  const float* g = a.f32(1, "g", n);
  float* m = a.f32(2, "m", n);
  float* v = a.f32(3, "v", n);
  const double lr = a.num(5, "lr"), beta1 = a.num(6, "beta1"), beta2 = a.num(7, "beta2"), eps = a.num(8, "eps");
  const double wd = a.num(9, "weightDecay"), step = a.num(10, "step");
  adamw(p, g, m, v, n, lr, beta1, beta2, eps, wd, step);
  return info.Env().Undefined();
}

Napi::Value Threads(Info info) {
  applyThreads();
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

// Sets the OpenMP team size for every later call (oneDNN's OpenMP build follows it too).
Napi::Value SetThreads(Info info) {
  Args a(info, "setThreads", 1);
  const idx n = a.dim(0, "n");
  if (n < 1 || n > 4096) a.fail("n must be between 1 and 4096");
  gThreads.store(static_cast<int>(n));
  applyThreads();
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

// Where a typed array's data lies modulo 64 bytes (src/util/aligned.ts places arrays on cache-line boundaries
// with it; JavaScript cannot see addresses).
Napi::Value AddressMod64(Info info) {
  if (info.Length() != 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "addressMod64: expects one typed array");
  const Napi::TypedArray t = info[0].As<Napi::TypedArray>();
  const auto* p = static_cast<const std::uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<std::uintptr_t>(p) % 64));
}

Napi::Value CpuInfo(Info info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  applyThreads();
  o.Set("threads", omp_get_max_threads());
  Napi::Array cpu = Napi::Array::New(env);
  uint32_t k = 0;
  __builtin_cpu_init();
#define BGPT_FEATURE(name) \
  if (__builtin_cpu_supports(name)) cpu.Set(k++, name);
  BGPT_FEATURE("sse4.2")
  BGPT_FEATURE("avx")
  BGPT_FEATURE("avx2")
  BGPT_FEATURE("fma")
  BGPT_FEATURE("avx512f")
  BGPT_FEATURE("avx512dq")
  BGPT_FEATURE("avx512bw")
  BGPT_FEATURE("avx512vl")
  BGPT_FEATURE("avx512vnni")
  BGPT_FEATURE("avx512bf16")
  BGPT_FEATURE("amx-tile")
  BGPT_FEATURE("amx-bf16")
  BGPT_FEATURE("amx-int8")
#undef BGPT_FEATURE
  o.Set("cpu", cpu);
  o.Set("bf16", bf16_implementation());
  o.Set("bf16Dot", kBf16Dot);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // BGPT_THREADS=n, read once at load, sets the team size (default: OpenMP's, i.e. all cores).
  if (const char* s = std::getenv("BGPT_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && n >= 1 && n <= 4096) gThreads.store(static_cast<int>(n));
  }
  const struct {
    const char* name;
    Napi::Value (*fn)(Info);
  } fns[] = {
      {"matmul", Matmul},
      {"matmulW16", MatmulW16},
      {"biasGrad", BiasGrad},
      {"addInPlace", AddInPlace},
      {"layerNormForward", LayerNormForward},
      {"addLayerNormForward", AddLayerNormForward},
      {"layerNormBackward", LayerNormBackward},
      {"geluForward", GeluForward},
      {"geluBackward", GeluBackward},
      {"geluBackwardBiasGrad", GeluBackwardBiasGrad},
      {"dropout", Dropout},
      {"matmulBiasGelu", MatmulBiasGelu},
      {"matmulBf16", MatmulBf16},
      {"toBf16", ToBf16},
      {"attentionForward", AttentionForward},
      {"attentionBackward", AttentionBackward},
      {"attentionCached", AttentionCached},
      {"patchEmbedForward", PatchEmbedForward},
      {"patchEmbedBackward", PatchEmbedBackward},
      {"embedForward", EmbedForward},
      {"embedBackward", EmbedBackward},
      {"crossEntropy", CrossEntropy},
      {"softmax", Softmax},
      {"adamw", AdamW},
      {"threads", Threads},
      {"setThreads", SetThreads},
      {"info", CpuInfo},
      {"addressMod64", AddressMod64},
  };
  for (const auto& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  RegisterExact(env, exports);
  return exports;
}

}  // namespace
}  // namespace bgpt

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return bgpt::Init(env, exports); }

NODE_API_MODULE(bgpt_native, InitModule)
