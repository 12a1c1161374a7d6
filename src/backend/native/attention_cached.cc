// Attention of new positions against a key/value cache (decoding): the new keys and values are written into
// their sequence's cache slot, then each new query attends over every cached position up to its own. One
// task per (sequence, head); a task's scores fit in a small per-thread buffer. Same arithmetic as the
// full-sequence kernel (float scores, exp_approx, float sums), minus the future keys, whose −10000 scores
// would contribute exp(−10000 − max) = 0 there.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels.h"

namespace bgpt {

namespace {

// One (sequence, head): D > 0 is the head dim known at compile time (unrolled), D == 0 any head dim.
template <idx D>
void cachedTask(float* out, const float* qkv, float* keys, float* values, idx slot, idx past, idx b, idx h, idx T,
                idx H, idx d_, idx capacity, float* p) {
  const idx d = D > 0 ? D : d_, H3 = 3 * H;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  float* K = keys + slot * capacity * H + h * d;
  float* V = values + slot * capacity * H + h * d;
  for (idx t = 0; t < T; t++) {
    const float* row = qkv + (b * T + t) * H3 + h * d;
    std::memcpy(K + (past + t) * H, row + H, sizeof(float) * d);
    std::memcpy(V + (past + t) * H, row + 2 * H, sizeof(float) * d);
  }
  for (idx t = 0; t < T; t++) {
    const float* q = qkv + (b * T + t) * H3 + h * d;
    const idx n = past + t + 1;
    float max = -3.4e38f;
    for (idx u = 0; u < n; u++) {
      const float* k = K + u * H;
      float dot = 0;
#pragma omp simd reduction(+ : dot)
      for (idx i = 0; i < d; i++) dot += q[i] * k[i];
      p[u] = dot * scale;
      max = std::max(max, p[u]);
    }
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (idx u = 0; u < n; u++) sum += (p[u] = exp_approx(p[u] - max));
    const float inv = 1.0f / sum;
    float* o = out + (b * T + t) * H + h * d;
    float acc[D > 0 ? D : 1];
    float* a = D > 0 ? acc : o;
    for (idx i = 0; i < d; i++) a[i] = 0;
    for (idx u = 0; u < n; u++) {
      const float w = p[u] * inv;
      const float* v = V + u * H;
#pragma omp simd
      for (idx i = 0; i < d; i++) a[i] += w * v[i];
    }
    if (D > 0) std::memcpy(o, acc, sizeof(float) * d);
  }
}

using TaskFn = void (*)(float*, const float*, float*, float*, idx, idx, idx, idx, idx, idx, idx, idx, float*);

TaskFn pick(idx d) {
  switch (d) {
    case 16: return cachedTask<16>;
    case 32: return cachedTask<32>;
    case 64: return cachedTask<64>;
    case 128: return cachedTask<128>;
    default: return cachedTask<0>;
  }
}

}  // namespace

void attention_cached(float* out, const float* qkv, float* keys, float* values, const std::int32_t* slots,
                      const std::int32_t* past, idx B, idx T, idx H, idx nHead, idx capacity) {
  const idx d = H / nHead;
  const TaskFn fn = pick(d);
  idx longest = 0;
  double macs = 0;
  for (idx b = 0; b < B; b++) {
    longest = std::max<idx>(longest, past[b] + T);
    macs += 2.0 * T * (past[b] + T) * H;
  }
  const int nt = B * nHead > 1 ? threads_for(macs * 5 * kNsMac) : 1;
  std::vector<float> scratch(static_cast<size_t>(longest * nt));
  const auto run = [&](idx task, float* mine) {
    const idx b = task / nHead, h = task % nHead;
    fn(out, qkv, keys, values, slots[b], past[b], b, h, T, H, d, capacity, mine);
  };
  if (nt <= 1) {  // no OpenMP region (see for_rows in common.h)
    for (idx task = 0; task < B * nHead; task++) run(task, scratch.data());
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    float* mine = scratch.data() + longest * omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (idx task = 0; task < B * nHead; task++) run(task, mine);
  }
}

}  // namespace bgpt
