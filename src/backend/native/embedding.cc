// Patch embedding (a gather-sum over the columns of the Linear weight) and token + position embedding.
// The backward passes scatter-add into weight rows/columns; each thread owns a disjoint set of hidden
// units (h), so no two threads ever touch the same float and the summation order is that of a serial loop.
#include <omp.h>

#include <algorithm>

#include "kernels.h"

namespace bgpt {

void patch_embed_forward(float* out, const float* W, const float* bias, const std::int32_t* tokens, idx rows,
                         idx S, idx H, idx V) {
  // h outermost: the weight row W[h, :] (S·V floats, 16 kB for S = 16, V = 257) stays in L1 while every patch
  // gathers its S entries from it.
  const idx cols = S * V;
  const int nt = H > 1 ? threads_for(rows * S * H * kNsElem) : 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (idx h = 0; h < H; h++) {
    const float* Wh = W + h * cols;
    for (idx r = 0; r < rows; r++) {
      const std::int32_t* tok = tokens + r * S;
      double acc = bias[h];  // a dependent chain of S adds either way; double costs nothing here
      for (idx s = 0; s < S; s++) acc += Wh[s * V + tok[s]];
      out[r * H + h] = static_cast<float>(acc);
    }
  }
}

void patch_embed_backward(float* dW, float* dbias, const float* dout, const std::int32_t* tokens, idx rows, idx S,
                          idx H, idx V) {
  const idx cols = S * V;
  const int nt = H > 1 ? threads_for(rows * S * H * kNsElem) : 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (idx h = 0; h < H; h++) {
    float* dWh = dW + h * cols;
    float db = dbias[h];
    for (idx r = 0; r < rows; r++) {
      const float g = dout[r * H + h];
      const std::int32_t* tok = tokens + r * S;
      db += g;
      for (idx s = 0; s < S; s++) dWh[s * V + tok[s]] += g;
    }
    dbias[h] = db;
  }
}

void embed_forward(float* out, const float* wte, const float* wpe, const std::int32_t* tokens, idx rows, idx T,
                   idx H) {
  const int nt = rows > 1 ? threads_for(rows * H * kNsStream) : 1;
  for_rows(rows, nt, [&](idx r0, idx r1) {
    for (idx r = r0; r < r1; r++) {
      const std::int32_t tok = tokens[r];
      const float* __restrict p = wpe + (r % T) * H;
      float* __restrict o = out + r * H;
      if (tok < 0) {
#pragma omp simd
        for (idx i = 0; i < H; i++) o[i] = p[i];
      } else {
        const float* __restrict e = wte + static_cast<idx>(tok) * H;
#pragma omp simd
        for (idx i = 0; i < H; i++) o[i] = e[i] + p[i];
      }
    }
  });
}

void embed_backward(float* dwte, float* dwpe, const float* dout, const std::int32_t* tokens, idx rows, idx T,
                    idx H) {
  // Each thread takes a range of columns (whole cache lines of 16 floats) and walks all rows.
  const idx lines = (H + 15) / 16;
  const int nt = lines > 1 ? threads_for(rows * H * 2 * kNsStream) : 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const idx tid = omp_get_thread_num(), team = omp_get_num_threads();
    const idx c0 = std::min(H, 16 * (lines * tid / team)), c1 = std::min(H, 16 * (lines * (tid + 1) / team));
    for (idx r = 0; r < rows && c0 < c1; r++) {
      const std::int32_t tok = tokens[r];
      const float* __restrict g = dout + r * H;
      // this thread reads only a slice of each dout row, which the hardware prefetcher does not follow
      if (r + 16 < rows)
        for (idx c = c0; c < c1; c += 16) __builtin_prefetch(g + 16 * H + c, 0, 0);
      float* __restrict p = dwpe + (r % T) * H;
#pragma omp simd
      for (idx i = c0; i < c1; i++) p[i] += g[i];
      if (tok >= 0) {
        float* __restrict e = dwte + static_cast<idx>(tok) * H;
#pragma omp simd
        for (idx i = c0; i < c1; i++) e[i] += g[i];
      }
    }
  }
}

}  // namespace bgpt
