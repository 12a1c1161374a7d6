// Causal self-attention core of GPT-2 (transformers 4.18), one (batch, head) pair per task so that every
// task reads and writes its own slices of qkv / dqkv: parallel and race-free without atomics.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace bgpt {

void attention_forward(float* out, float* att, const float* qkv, const float* mask, idx B, idx T, idx H,
                       idx nHead) {
  const idx d = H / nHead, H3 = 3 * H, tasks = B * nHead;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const bool par = tasks > 1 && tasks * T * T * d > kParMin;
#pragma omp parallel if (par)
  {
    // A score is kept as base + pen: base = q·k/√d (0 for a future key, whose score is replaced) and
    // pen = the −10000 terms (future key, padding key). Softmax subtracts the maximum part by part, so
    // a query whose keys are all penalised still gets its probabilities to float precision (in one float,
    // −10000 + s would keep only ~3 decimal places of s).
    std::vector<float> buf(static_cast<size_t>(2 * T));
    float* __restrict base = buf.data();
    float* __restrict pen = base + T;
#pragma omp for schedule(static)
    for (idx task = 0; task < tasks; task++) {
      const idx b = task / nHead, h = task % nHead;
      const float* q0 = qkv + b * T * H3 + h * d;
      const float* k0 = q0 + H;
      const float* v0 = q0 + 2 * H;
      const float* mk = mask ? mask + b * T : nullptr;
      for (idx t = 0; t < T; t++) {
        const float* __restrict q = q0 + t * H3;
        for (idx u = 0; u <= t; u++) {
          const float* __restrict k = k0 + u * H3;
          float s = 0;
#pragma omp simd reduction(+ : s)
          for (idx i = 0; i < d; i++) s += q[i] * k[i];
          base[u] = s * scale;
        }
        for (idx u = t + 1; u < T; u++) base[u] = 0.0f;
        for (idx u = 0; u < T; u++) pen[u] = (u > t ? kNeg : 0.0f) + (mk ? (1.0f - mk[u]) * kNeg : 0.0f);
        idx j = 0;
        float best = base[0] + pen[0];
        for (idx u = 1; u < T; u++) {
          const float s = base[u] + pen[u];
          if (s > best) best = s, j = u;
        }
        const float bj = base[j], pj = pen[j];
        float* __restrict a = att + (task * T + t) * T;
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (idx u = 0; u < T; u++) {
          const float e = exp_approx((base[u] - bj) + (pen[u] - pj));
          a[u] = e;
          sum += e;
        }
        const float inv = 1.0f / sum;
#pragma omp simd
        for (idx u = 0; u < T; u++) a[u] *= inv;
        float* __restrict o = out + (b * T + t) * H + h * d;
        std::memset(o, 0, sizeof(float) * d);
        for (idx u = 0; u < T; u++) {
          const float au = a[u];
          if (au == 0.0f) continue;  // future keys, normally
          const float* __restrict v = v0 + u * H3;
#pragma omp simd
          for (idx i = 0; i < d; i++) o[i] += au * v[i];
        }
      }
    }
  }
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, idx B, idx T, idx H,
                        idx nHead) {
  const idx d = H / nHead, H3 = 3 * H, tasks = B * nHead;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const bool par = tasks > 1 && tasks * T * T * d > kParMin;
#pragma omp parallel if (par)
  {
    std::vector<float> buf(static_cast<size_t>(T));
    float* __restrict datt = buf.data();
#pragma omp for schedule(static)
    for (idx task = 0; task < tasks; task++) {
      const idx b = task / nHead, h = task % nHead;
      const float* q0 = qkv + b * T * H3 + h * d;
      const float* k0 = q0 + H;
      const float* v0 = q0 + 2 * H;
      float* dq0 = dqkv + b * T * H3 + h * d;
      float* dk0 = dq0 + H;
      float* dv0 = dq0 + 2 * H;
      for (idx t = 0; t < T; t++) {
        std::memset(dq0 + t * H3, 0, sizeof(float) * d);
        std::memset(dk0 + t * H3, 0, sizeof(float) * d);
        std::memset(dv0 + t * H3, 0, sizeof(float) * d);
      }
      for (idx t = 0; t < T; t++) {
        const float* a = att + (task * T + t) * T;
        const float* __restrict go = dout + (b * T + t) * H + h * d;
        // out = Σ_u a[u]·v[u]  →  datt[u] = dout·v[u], dv[u] += a[u]·dout
        float dot = 0;
        for (idx u = 0; u < T; u++) {
          const float au = a[u];
          if (au == 0.0f) {
            datt[u] = 0.0f;
            continue;
          }
          const float* __restrict v = v0 + u * H3;
          float* __restrict dv = dv0 + u * H3;
          float s = 0;
#pragma omp simd reduction(+ : s)
          for (idx i = 0; i < d; i++) {
            s += go[i] * v[i];
            dv[i] += au * go[i];
          }
          datt[u] = s;
          dot += s * au;
        }
        // softmax backward; a future key's score was replaced by a constant, so it passes no gradient to q, k
        const float* __restrict q = q0 + t * H3;
        float* __restrict dq = dq0 + t * H3;
        for (idx u = 0; u <= t; u++) {
          const float ds = a[u] * (datt[u] - dot) * scale;
          if (ds == 0.0f) continue;
          const float* __restrict k = k0 + u * H3;
          float* __restrict dk = dk0 + u * H3;
#pragma omp simd
          for (idx i = 0; i < d; i++) {
            dq[i] += ds * k[i];
            dk[i] += ds * q[i];
          }
        }
      }
    }
  }
}

}  // namespace bgpt
