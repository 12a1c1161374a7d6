// Exact inference kernels (src/backend/exact/types.ts has the contract; exact.cc the implementation).
#pragma once

#include <cstdint>

namespace bgpt {
namespace exact {

using idx = std::int64_t;

// w [K, N] with rows ldw ≥ N apart (a stride off multiples of 512 bytes spreads a column block's rows over the cache sets)
void linear(float* out, const float* x, const float* w, const float* b, idx R, idx K, idx N, idx ldw);
// the same with w holding IEEE half values (exactly the floats they widen to)
void linear16(float* out, const float* x, const std::uint16_t* w, const float* b, idx R, idx K, idx N, idx ldw);
void layer_norm(float* out, const float* x, const float* g, const float* b, idx R, idx D);
void gelu(float* out, const float* x, idx n);
void attend(float* out, const float* qkv, const float* kv, idx kvStride, idx B, idx R, idx past, idx H, idx heads, idx seqStride,
            const std::int32_t* slots, const std::int32_t* pasts);
void patch_embed(float* out, const float* wT, const float* bias, const std::int32_t* tokens, idx R, idx S, idx H, idx V);
void freqs(std::int32_t* out, const float* logits, idx R);
// For tests: the exact exp and tanh of one value.
float exp_exact(float x);
float tanh_exact(float u);

}  // namespace exact
}  // namespace bgpt
