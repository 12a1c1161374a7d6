// Node-API entry points of the exact kernels (exact.h): argument checks, then the kernel on the arrays' memory.
#include <napi.h>

#include "args.h"
#include "exact.h"

namespace bgpt {
namespace {

using Info = const Napi::CallbackInfo&;

// exactLinear (w a Float32Array) and exactLinear16 (w a Uint16Array of IEEE halves)
template <bool Half>
Napi::Value ExactLinearOf(Info info) {
  Args a(info, Half ? "exactLinear16" : "exactLinear", 7);
  const idx R = a.dim(4, "R"), K = a.dim(5, "K"), N = a.dim(6, "N");
  const idx ldw = a.isNull(7) ? N : a.dim(7, "ldw");  // optional row stride of w
  if (ldw < N) a.fail("ldw must be at least N");
  float* out = a.f32(0, "out", prod({R, N}));
  const float* x = a.f32(1, "x", prod({R, K}));
  const idx wn = K == 0 ? 0 : prod({K - 1, ldw}) + N;
  const float* b = a.f32OrNull(3, "b", N);
  if constexpr (Half) exact::linear16(out, x, a.u16(2, "w", wn), b, R, K, N, ldw);
  else exact::linear(out, x, a.f32(2, "w", wn), b, R, K, N, ldw);
  return info.Env().Undefined();
}

Napi::Value ExactLayerNorm(Info info) {
  Args a(info, "exactLayerNorm", 6);
  const idx R = a.dim(4, "R"), D = a.dim(5, "D");
  float* out = a.f32(0, "out", prod({R, D}));
  const float* x = a.f32(1, "x", prod({R, D}));
  exact::layer_norm(out, x, a.f32(2, "g", D), a.f32(3, "b", D), R, D);
  return info.Env().Undefined();
}

Napi::Value ExactGelu(Info info) {
  Args a(info, "exactGelu", 3);
  const idx n = a.dim(2, "n");
  exact::gelu(a.f32(0, "out", n), a.f32(1, "x", n), n);
  return info.Env().Undefined();
}

Napi::Value ExactAttend(Info info) {
  Args a(info, "exactAttend", 9);
  const idx kvStride = a.dim(3, "kvStride"), B = a.dim(4, "B"), R = a.dim(5, "R"), past = a.dim(6, "past");
  const idx H = a.dim(7, "H"), heads = a.dim(8, "heads");
  if (heads == 0 || H % heads != 0) a.fail("heads must be positive and divide H");
  if (kvStride < 2 * H) a.fail("kvStride must be at least 2H");
  // optional: positions between the caches of sequences in kv, each sequence's cache (slot) and its past
  const std::int32_t* slots = a.isNull(10) ? nullptr : a.i32(10, "slots", B);
  const std::int32_t* pasts = a.isNull(11) ? nullptr : a.i32(11, "pasts", B);
  idx maxPast = past;
  if (pasts) {
    maxPast = 0;
    for (idx b = 0; b < B; b++) {
      if (pasts[b] < 0) a.fail("pasts must not be negative");
      if (pasts[b] > maxPast) maxPast = pasts[b];
    }
  }
  const idx seqStride = a.isNull(9) ? maxPast + R : a.dim(9, "seqStride");
  if (seqStride < maxPast + R) a.fail("seqStride must be at least past + R");
  idx last = 0;  // one past the last position read: max over sequences of slot·seqStride + past + R
  for (idx b = 0; b < B && R > 0; b++) {
    const idx slot = slots ? slots[b] : b, pb = pasts ? pasts[b] : past;
    if (slot < 0) a.fail("slots must not be negative");
    const idx end = prod({slot, seqStride}) + pb + R;
    if (end > last) last = end;
  }
  const idx rows = prod({B, R});
  float* out = a.f32(0, "out", prod({rows, H}));
  const float* qkv = a.f32(1, "qkv", prod({rows, 3, H}));
  // the last value read: that position's offset H + H − 1
  const float* kv = a.f32(2, "kv", last == 0 ? 0 : prod({last - 1, kvStride}) + 2 * H);
  exact::attend(out, qkv, kv, kvStride, B, R, past, H, heads, seqStride, slots, pasts);
  return info.Env().Undefined();
}

Napi::Value ExactPatchEmbed(Info info) {
  Args a(info, "exactPatchEmbed", 8);
  const idx R = a.dim(4, "R"), S = a.dim(5, "S"), H = a.dim(6, "H"), V = a.dim(7, "V");
  float* out = a.f32(0, "out", prod({R, H}));
  const float* wT = a.f32(1, "wT", prod({S, V, H}));
  const float* bias = a.f32(2, "bias", H);
  const std::int32_t* tok = a.i32(3, "tokens", prod({R, S}));
  a.tokensIn(tok, R * S, "tokens", 0, V);
  exact::patch_embed(out, wT, bias, tok, R, S, H, V);
  return info.Env().Undefined();
}

Napi::Value ExactFreqs(Info info) {
  Args a(info, "exactFreqs", 3);
  const idx R = a.dim(2, "R");
  const float* logits = a.f32(1, "logits", prod({R, 256}));
  const Napi::Value v = info[0];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) a.fail("out must be an Int32Array");
  Napi::Int32Array out = v.As<Napi::Int32Array>();
  if (static_cast<idx>(out.ElementLength()) < prod({R, 256})) a.fail("out is too short for R rows of 256");
  exact::freqs(out.Data(), logits, R);
  return info.Env().Undefined();
}

Napi::Value ExactExp(Info info) {
  Args a(info, "exactExp", 1);
  return Napi::Number::New(info.Env(), exact::exp_exact(static_cast<float>(a.num(0, "x"))));
}

Napi::Value ExactTanh(Info info) {
  Args a(info, "exactTanh", 1);
  return Napi::Number::New(info.Env(), exact::tanh_exact(static_cast<float>(a.num(0, "u"))));
}

}  // namespace

void RegisterExact(Napi::Env env, Napi::Object exports) {
  exports.Set("exactLinear", Napi::Function::New(env, ExactLinearOf<false>, "exactLinear"));
  exports.Set("exactLinear16", Napi::Function::New(env, ExactLinearOf<true>, "exactLinear16"));
  exports.Set("exactLayerNorm", Napi::Function::New(env, ExactLayerNorm, "exactLayerNorm"));
  exports.Set("exactGelu", Napi::Function::New(env, ExactGelu, "exactGelu"));
  exports.Set("exactAttend", Napi::Function::New(env, ExactAttend, "exactAttend"));
  exports.Set("exactPatchEmbed", Napi::Function::New(env, ExactPatchEmbed, "exactPatchEmbed"));
  exports.Set("exactFreqs", Napi::Function::New(env, ExactFreqs, "exactFreqs"));
  exports.Set("exactExp", Napi::Function::New(env, ExactExp, "exactExp"));
  exports.Set("exactTanh", Napi::Function::New(env, ExactTanh, "exactTanh"));
}

}  // namespace bgpt
