// The native kernels on raw pointers. Semantics, layouts and aliasing rules are those of
// src/backend/types.ts; binding.cc checks the arguments before calling these.
#pragma once

#include <string>

#include "common.h"

namespace bgpt {

// matmul.cc — returns a oneDNN status (0 = success).
int matmul(float* C, const float* A, const float* B, const float* bias, idx M, idx K, idx N, bool transA,
           bool transB, bool accumulate);
// G = gelu_new(C), C = A[M,K]·B[K,N] + bias[N] (C is what the backward needs); a oneDNN status.
int matmul_bias_gelu(float* G, float* C, const float* A, const float* B, const float* bias, idx M, idx K, idx N);

// matmul16.cc — C[M,N] = A[M,K]·W[K,N] (+ bias) with W in bf16 (f16 = false) or f16; returns a oneDNN status.
// bf16Activations (bf16 weights only): A rounded to bf16 first, few rows on the bf16 dot-product instruction.
int matmul_w16(float* C, const float* A, const std::uint16_t* W, const float* bias, idx M, idx K, idx N, bool f16,
               bool bf16Activations = false);

// gemv_dot.cc — C[M,N] = bf16(A)[M,K]·W[K,N] (+ bias), W in bf16, for few rows on vdpbf16ps: only in a build
// that has the instruction (kBf16Dot). round_bf16_values: out = x rounded to bf16, as floats.
#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define BGPT_DOT_BF16 1
constexpr bool kBf16Dot = true;
void gemv_bf16_dot(float* C, const float* A, const std::uint16_t* W, const float* bias, idx M, idx K, idx N);
#else
constexpr bool kBf16Dot = false;
#endif
void round_bf16_values(float* out, const float* x, idx n);

// matmul_bf16.cc — C[M,N] = op(A)·op(B) (+ bias) (+ C when accumulate) with bf16 operands, fp32 sums: an operand
// is bf16 bits (aBf16 / bBf16) or fp32 rounded to bf16 first; transposes as in matmul. A oneDNN status.
int matmul_bf16(float* C, const void* A, bool aBf16, const void* B, bool bBf16, const float* bias, idx M, idx K,
                idx N, bool transA, bool transB, bool accumulate);
// out[i] = x[i] rounded to bf16 (to nearest, ties to even; NaN stays NaN).
void to_bf16(std::uint16_t* out, const float* x, idx n);
// oneDNN's implementation of a bf16 matmul on this CPU (e.g. "brg:avx512_core_amx", "gemm:jit"), "" if none.
std::string bf16_implementation();

// gemv.cc — C[M,N] = A[M,K]·W[K,N] (+ bias) (+ C when accumulate) for few rows (M ≤ kGemvRows is where it
// pays), W row-major in fp32, bf16 or f16; the weights are read once, in memory order.
enum class WeightType { f32, bf16, f16 };
constexpr idx kGemvRows = 8;
void gemv(float* C, const float* A, const void* W, WeightType wt, const float* bias, idx M, idx K, idx N,
          bool accumulate);

// elementwise.cc
void bias_grad(float* db, const float* dY, idx M, idx N, bool accumulate);
void add_in_place(float* y, const float* x, idx n);
// p in [0, 1); n <= 2^32 (the mask hashes the element index as a uint32).
void dropout(float* x, idx n, double p, std::uint32_t seed);

// gelu.cc
void gelu_forward(float* out, const float* x, idx n);
void gelu_backward(float* dx, const float* x, const float* dout, idx n);
// dx[M,N] = gelu'(x)·dout and db[N] (+)= its column sums, in one pass (dx may alias dout).
void gelu_backward_bias_grad(float* dx, float* db, const float* x, const float* dout, idx M, idx N,
                             bool accumulate);

// layernorm.cc
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                       idx rows, idx H, float eps);
void add_layernorm_forward(float* sum, float* out, float* mean, float* rstd, const float* a, const float* y,
                           const float* w, const float* b, idx rows, idx H, float eps);
void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* mean,
                        const float* rstd, const float* w, idx rows, idx H);

// attention.cc — maskValue: the score of a future or padding key (GPT-2's −10000); dropP in [0, 1): dropout
// on the probabilities (0: none).
void attention_forward(float* out, float* att, const float* qkv, const float* mask, idx B, idx T, idx H,
                       idx nHead, float maskValue, double dropP, std::uint32_t seed);
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, idx B, idx T, idx H,
                        idx nHead, double dropP, std::uint32_t seed);

// attention_cached.cc — keys/values [slots, capacity, H]; slots[b] distinct, past[b] + T <= capacity (checked
// by the caller).
void attention_cached(float* out, const float* qkv, float* keys, float* values, const std::int32_t* slots,
                      const std::int32_t* past, idx B, idx T, idx H, idx nHead, idx capacity);

// embedding.cc — V: the vocabulary of a patch position (257 in bGPT).
void patch_embed_forward(float* out, const float* W, const float* bias, const std::int32_t* tokens, idx rows,
                         idx S, idx H, idx V);
void patch_embed_backward(float* dW, float* dbias, const float* dout, const std::int32_t* tokens, idx rows, idx S,
                          idx H, idx V);
void embed_forward(float* out, const float* wte, const float* wpe, const std::int32_t* tokens, idx rows, idx T,
                   idx H);
void embed_backward(float* dwte, float* dwpe, const float* dout, const std::int32_t* tokens, idx rows, idx T,
                    idx H);

// loss.cc
double cross_entropy(float* dlogits, const float* logits, const std::int32_t* targets, idx rows, idx V,
                     float scale);
void softmax(float* out, const float* x, idx rows, idx V);

// adamw.cc
void adamw(float* p, const float* g, float* m, float* v, idx n, double lr, double beta1, double beta2, double eps,
           double weightDecay, double step);

}  // namespace bgpt
