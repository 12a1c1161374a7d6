// Node-API entry points: check the arguments (args.h), then call the kernel on the arrays' own memory.
#include <napi.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>

#include "args.h"
#include "kernels.h"

namespace bgpt {
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

Napi::Value BiasGrad(Info info) {
  Args a(info, "biasGrad", 5);
  const idx M = a.dim(2, "M"), N = a.dim(3, "N");
  bias_grad(a.f32(0, "db", N), a.f32(1, "dY", prod({M, N})), M, N, a.flag(4));
  return info.Env().Undefined();
}

Napi::Value Add(Info info) {
  Args a(info, "add", 4);
  const idx n = a.dim(3, "n");
  add(a.f32(0, "out", n), a.f32(1, "a", n), a.f32(2, "b", n), n);
  return info.Env().Undefined();
}

Napi::Value AddInPlace(Info info) {
  Args a(info, "addInPlace", 3);
  const idx n = a.dim(2, "n");
  add_in_place(a.f32(0, "y", n), a.f32(1, "x", n), n);
  return info.Env().Undefined();
}

Napi::Value LayerNormForward(Info info) {
  Args a(info, "layerNormForward", 9);
  const idx rows = a.dim(6, "rows"), H = a.dim(7, "H");
  const float eps = static_cast<float>(a.num(8, "eps"));
  const idx n = prod({rows, H});
  layernorm_forward(a.f32(0, "out", n), a.f32(1, "mean", rows), a.f32(2, "rstd", rows), a.f32(3, "x", n),
                    a.f32(4, "w", H), a.f32(5, "b", H), rows, H, eps);
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(Info info) {
  Args a(info, "layerNormBackward", 10);
  const idx rows = a.dim(8, "rows"), H = a.dim(9, "H");
  const idx n = prod({rows, H});
  layernorm_backward(a.f32(0, "dx", n), a.f32(1, "dw", H), a.f32(2, "db", H), a.f32(3, "dout", n),
                     a.f32(4, "x", n), a.f32(5, "mean", rows), a.f32(6, "rstd", rows), a.f32(7, "w", H), rows, H);
  return info.Env().Undefined();
}

Napi::Value GeluForward(Info info) {
  Args a(info, "geluForward", 3);
  const idx n = a.dim(2, "n");
  gelu_forward(a.f32(0, "out", n), a.f32(1, "x", n), n);
  return info.Env().Undefined();
}

Napi::Value GeluBackward(Info info) {
  Args a(info, "geluBackward", 4);
  const idx n = a.dim(3, "n");
  gelu_backward(a.f32(0, "dx", n), a.f32(1, "x", n), a.f32(2, "dout", n), n);
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
  Args a(info, "attentionForward", 8);
  const AttnShape s = attnShape(a, 4);
  attention_forward(a.f32(0, "out", prod({s.B, s.T, s.H})), a.f32(1, "att", prod({s.B, s.nHead, s.T, s.T})),
                    a.f32(2, "qkv", prod({s.B, s.T, 3, s.H})), a.f32OrNull(3, "mask", prod({s.B, s.T})), s.B, s.T,
                    s.H, s.nHead);
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(Info info) {
  Args a(info, "attentionBackward", 8);
  const AttnShape s = attnShape(a, 4);
  attention_backward(a.f32(0, "dqkv", prod({s.B, s.T, 3, s.H})), a.f32(1, "dout", prod({s.B, s.T, s.H})),
                     a.f32(2, "qkv", prod({s.B, s.T, 3, s.H})), a.f32(3, "att", prod({s.B, s.nHead, s.T, s.T})),
                     s.B, s.T, s.H, s.nHead);
  return info.Env().Undefined();
}

Napi::Value PatchEmbedForward(Info info) {
  Args a(info, "patchEmbedForward", 7);
  const idx rows = a.dim(4, "rows"), S = a.dim(5, "S"), H = a.dim(6, "H");
  float* out = a.f32(0, "out", prod({rows, H}));
  const float* W = a.f32(1, "W", prod({H, S, kByteVocab}));
  const float* bias = a.f32(2, "bias", H);
  const std::int32_t* tok = a.i32(3, "tokens", prod({rows, S}));
  a.tokensIn(tok, rows * S, "tokens", 0, kByteVocab);
  patch_embed_forward(out, W, bias, tok, rows, S, H);
  return info.Env().Undefined();
}

Napi::Value PatchEmbedBackward(Info info) {
  Args a(info, "patchEmbedBackward", 7);
  const idx rows = a.dim(4, "rows"), S = a.dim(5, "S"), H = a.dim(6, "H");
  float* dW = a.f32(0, "dW", prod({H, S, kByteVocab}));
  float* dbias = a.f32(1, "dbias", H);
  const float* dout = a.f32(2, "dout", prod({rows, H}));
  const std::int32_t* tok = a.i32(3, "tokens", prod({rows, S}));
  a.tokensIn(tok, rows * S, "tokens", 0, kByteVocab);
  patch_embed_backward(dW, dbias, dout, tok, rows, S, H);
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
  softmax(a.f32(0, "out", prod({rows, V})), a.f32(1, "x", prod({rows, V})), rows, V);
  return info.Env().Undefined();
}

Napi::Value AdamW(Info info) {
  Args a(info, "adamw", 11);
  const idx n = a.dim(4, "n");
  adamw(a.f32(0, "p", n), a.f32(1, "g", n), a.f32(2, "m", n), a.f32(3, "v", n), n, a.num(5, "lr"),
        a.num(6, "beta1"), a.num(7, "beta2"), a.num(8, "eps"), a.num(9, "weightDecay"), a.num(10, "step"));
  return info.Env().Undefined();
}

Napi::Value Threads(Info info) { return Napi::Number::New(info.Env(), omp_get_max_threads()); }

// Sets the OpenMP team size of the calling (JS main) thread, which oneDNN's OpenMP build follows too.
Napi::Value SetThreads(Info info) {
  Args a(info, "setThreads", 1);
  const idx n = a.dim(0, "n");
  if (n < 1 || n > 4096) a.fail("n must be between 1 and 4096");
  omp_set_num_threads(static_cast<int>(n));
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

Napi::Value CpuInfo(Info info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
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
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // BGPT_THREADS=n, read once at load, caps the team for this thread (default: OpenMP's, i.e. all cores).
  if (const char* s = std::getenv("BGPT_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && n >= 1 && n <= 4096) omp_set_num_threads(static_cast<int>(n));
  }
  const struct {
    const char* name;
    Napi::Value (*fn)(Info);
  } fns[] = {
      {"matmul", Matmul},
      {"biasGrad", BiasGrad},
      {"add", Add},
      {"addInPlace", AddInPlace},
      {"layerNormForward", LayerNormForward},
      {"layerNormBackward", LayerNormBackward},
      {"geluForward", GeluForward},
      {"geluBackward", GeluBackward},
      {"attentionForward", AttentionForward},
      {"attentionBackward", AttentionBackward},
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
  };
  for (const auto& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  return exports;
}

}  // namespace
}  // namespace bgpt

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return bgpt::Init(env, exports); }

NODE_API_MODULE(bgpt_native, InitModule)
