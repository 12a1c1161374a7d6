// LayerNorm over the last dimension, parallel over rows. Row statistics are summed in double so that a
// large mean does not eat the variance; the per-element work stays in float.
#include <omp.h>

#include <cmath>
#include <vector>

#include "kernels.h"

namespace bgpt {

// One row: statistics of x in double, out = (x − mean)·rstd·w + b.
static inline void layernorm_row(float* o, float* mean, float* rstd, const float* xr, const float* w, const float* b,
                                 idx H, double sum, float eps) {
  const double m = sum / H;
  double var = 0;
#pragma omp simd reduction(+ : var)
  for (idx i = 0; i < H; i++) {
    const double d = xr[i] - m;
    var += d * d;
  }
  const double sd = 1.0 / std::sqrt(var / H + eps);  // biased variance, as torch
  // x − m with m split in two floats (mf + mlo): near-double precision for the centred value, in float.
  const float mf = static_cast<float>(m), mlo = static_cast<float>(m - mf), s = static_cast<float>(sd);
#pragma omp simd
  for (idx i = 0; i < H; i++) o[i] = ((xr[i] - mf) - mlo) * s * w[i] + b[i];
  *mean = mf;
  *rstd = s;
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                       idx rows, idx H, float eps) {
  const int nt = rows > 1 ? threads_for(rows * H * kNsElem) : 1;
  for_rows(rows, nt, [&](idx r0, idx r1) {
    for (idx r = r0; r < r1; r++) {
      const float* xr = x + r * H;
      double sum = 0;
#pragma omp simd reduction(+ : sum)
      for (idx i = 0; i < H; i++) sum += xr[i];
      layernorm_row(out + r * H, mean + r, rstd + r, xr, w, b, H, sum, eps);
    }
  });
}

void add_layernorm_forward(float* sum, float* out, float* mean, float* rstd, const float* a, const float* y,
                           const float* w, const float* b, idx rows, idx H, float eps) {
  // The residual add writes each row once and the statistics read it while it is still in L1: one pass over
  // the stream instead of the add's pass and the LayerNorm's.
  const int nt = rows > 1 ? threads_for(rows * H * (kNsElem + kNsStream)) : 1;
  for_rows(rows, nt, [&](idx r0, idx r1) {
    for (idx r = r0; r < r1; r++) {
      float* sr = sum + r * H;
      const float* ar = a + r * H;
      const float* yr = y + r * H;
      double s = 0;
#pragma omp simd reduction(+ : s)
      for (idx i = 0; i < H; i++) {
        const float v = ar[i] + yr[i];
        sr[i] = v;
        s += v;
      }
      layernorm_row(out + r * H, mean + r, rstd + r, sr, w, b, H, s, eps);
    }
  });
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* mean,
                        const float* rstd, const float* w, idx rows, idx H) {
  // dx = s·(g − mean(g) − x̂·mean(g·x̂)) with g = dout·w, per row; dw and db are summed over rows into
  // per-thread double rows that are added to dw, db at the end (race-free, deterministic for a thread count).
  const int nt = rows > 1 ? threads_for(rows * H * 2 * kNsElem) : 1;
  std::vector<double> part(static_cast<size_t>(nt) * 2 * H, 0.0);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = omp_get_thread_num(), team = omp_get_num_threads();
    double* pw = part.data() + static_cast<size_t>(tid) * 2 * H;
    double* pb = pw + H;
    const idx r0 = rows * tid / team, r1 = rows * (tid + 1) / team;
    for (idx r = r0; r < r1; r++) {
      const float* xr = x + r * H;
      const float* go = dout + r * H;
      float* gx = dx + r * H;
      const float m = mean[r], s = rstd[r];
      double gs = 0, gxs = 0;
#pragma omp simd reduction(+ : gs, gxs)
      for (idx i = 0; i < H; i++) {
        const float xhat = (xr[i] - m) * s, g = go[i] * w[i];
        gs += g;
        gxs += g * xhat;
      }
      const float gm = static_cast<float>(gs / H), gxm = static_cast<float>(gxs / H);
#pragma omp simd
      for (idx i = 0; i < H; i++) {
        const float xhat = (xr[i] - m) * s, g = go[i] * w[i];
        gx[i] += s * (g - gm - xhat * gxm);
        pw[i] += go[i] * xhat;
        pb[i] += go[i];
      }
    }
  }
  for (idx i = 0; i < H; i++) {
    double sw = 0, sb = 0;
    for (int t = 0; t < nt; t++) {
      sw += part[static_cast<size_t>(t) * 2 * H + i];
      sb += part[static_cast<size_t>(t) * 2 * H + H + i];
    }
    dw[i] = static_cast<float>(dw[i] + sw);
    db[i] = static_cast<float>(db[i] + sb);
  }
}

}  // namespace bgpt
