// Causal self-attention core of GPT-2 (transformers 4.18). A task is a sequence (all heads) or one
// (sequence, head) pair; either way it reads and writes only its own slices of qkv / dqkv / att / out, so
// the tasks run in parallel without atomics.
//
// Head dims that are multiples of 16 up to 128 (GPT-2's is always 64) take a path that keeps a query row,
// an output row and the dq row in vector registers; other head dims take the plain loops (same math).
//
// Dropout on the probabilities (training): a row's multipliers m[u] (scale or 0) are recomputed from the seed
// and the index of att[b,h,t,u], in forward and backward alike; att keeps the undropped probabilities. Without
// dropout (DROP = false, a separate instantiation) the loops are exactly those of plain attention.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace bgpt {

namespace {

// One head-dim row (D floats, D a multiple of 16) held in registers.
template <int D>
struct Head {
  static constexpr int NV = D / 16;
  vf16 r[NV];
  void load(const float* p) {
    for (int j = 0; j < NV; j++) r[j] = load16(p + 16 * j);
  }
  void zero() {
    for (int j = 0; j < NV; j++) r[j] = vf16{};
  }
  void store(float* p) const {
    for (int j = 0; j < NV; j++) store16(p + 16 * j, r[j]);
  }
  float dot(const float* k) const {
    vf16 acc = r[0] * load16(k);
    for (int j = 1; j < NV; j++) acc += r[j] * load16(k + 16 * j);
    return hsum16(acc);
  }
  void axpy(float a, const float* x) {  // this += a·x
    const vf16 av = splat16(a);
    for (int j = 0; j < NV; j++) r[j] += av * load16(x + 16 * j);
  }
  void addTo(float a, float* y) const {  // y += a·this
    const vf16 av = splat16(a);
    for (int j = 0; j < NV; j++) store16(y + 16 * j, load16(y + 16 * j) + av * r[j]);
  }
};

// Softmax of one query row of scores kept as base + pen: base = q·k/√d (0 for a future key, whose score is
// replaced) and pen = the `neg` terms (future key, padding key; GPT-2's −10000). The shift is taken part by part, the
// largest pen and the largest base among the keys that have it, so a query whose keys are all penalised
// still gets its probabilities to float precision (in one float, −10000 + s keeps ~3 decimals of s).
// No argmax and no running sum in the exp loop, so that loop vectorises.
inline void softmaxRow(float* __restrict a, const float* __restrict base, const float* __restrict maskPen, idx t,
                       idx T, float neg, float* __restrict pen) {
  float pmax = -INFINITY;
  for (idx u = 0; u < T; u++) {
    pen[u] = (u > t ? neg : 0.0f) + maskPen[u];
    pmax = pen[u] > pmax ? pen[u] : pmax;
  }
  float bmax = -INFINITY;
  for (idx u = 0; u < T; u++) bmax = (pen[u] == pmax && base[u] > bmax) ? base[u] : bmax;
  for (idx u = 0; u < T; u++) a[u] = exp_approx((base[u] - bmax) + (pen[u] - pmax));
  float sum = 0;
  for (idx u = 0; u < T; u++) sum += a[u];
  const float inv = 1.0f / sum;
  for (idx u = 0; u < T; u++) a[u] *= inv;
}

// Heads h0..h1−1 of sequence b. The query position t is the outer loop so that, when a task takes all the
// heads, it walks the sequence's qkv rows (3H contiguous floats each) front to back: the hardware
// prefetcher streams them, where a per-head walk would stall on a 4·d-byte piece of every row.
// D > 0: the head dim known at compile time (vector path); D == 0: any head dim (plain loops).
// The dropout multipliers of row (b, h, t): m[u] = keep ? scale : 0, times w[u] when w is given.
inline void dropRow(float* __restrict m, const float* __restrict w, const DropParams& dp, idx b, idx h, idx t,
                    idx T, idx nHead) {
  const std::uint32_t base = static_cast<std::uint32_t>(((b * nHead + h) * T + t) * T);  // index mod 2^32
  const std::uint32_t key = dp.key, thr = dp.threshold;
  const float sc = dp.scale;
  if (w) {
    for (idx u = 0; u < T; u++) m[u] = drop_hash(key, base + static_cast<std::uint32_t>(u)) >= thr ? w[u] * sc : 0.0f;
  } else {
    for (idx u = 0; u < T; u++) m[u] = drop_hash(key, base + static_cast<std::uint32_t>(u)) >= thr ? sc : 0.0f;
  }
}

template <int D, bool DROP>
void forwardTask(float* out, float* att, const float* qkv, const float* mask, idx b, idx h0, idx h1, idx T, idx H,
                 idx nHead, float neg, const DropParams* drop, float* scratch) {
  const idx d = D > 0 ? D : H / nHead, H3 = 3 * H;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  float* base = scratch;
  float* pen = scratch + T;
  float* maskPen = scratch + 2 * T;
  float* dropped = scratch + 3 * T;  // the row's probabilities after dropout
  for (idx u = 0; u < T; u++) maskPen[u] = mask ? (1.0f - mask[b * T + u]) * neg : 0.0f;
  for (idx t = 0; t < T; t++) {
    for (idx h = h0; h < h1; h++) {
      const float* q = qkv + (b * T + t) * H3 + h * d;
      const float* k0 = qkv + b * T * H3 + H + h * d;
      const float* v0 = k0 + H;
      if constexpr (D > 0) {
        Head<D> qv;
        qv.load(q);
        for (idx u = 0; u <= t; u++) base[u] = qv.dot(k0 + u * H3) * scale;
      } else {
        for (idx u = 0; u <= t; u++) {
          const float* k = k0 + u * H3;
          float s = 0;
          for (idx i = 0; i < d; i++) s += q[i] * k[i];
          base[u] = s * scale;
        }
      }
      for (idx u = t + 1; u < T; u++) base[u] = 0.0f;
      float* a = att + ((b * nHead + h) * T + t) * T;
      softmaxRow(a, base, maskPen, t, T, neg, pen);
      const float* w = a;  // the weights of the values
      if constexpr (DROP) {
        dropRow(dropped, a, *drop, b, h, t, T, nHead);
        w = dropped;
      }
      float* o = out + (b * T + t) * H + h * d;
      if constexpr (D > 0) {
        Head<D> acc;
        acc.zero();
        for (idx u = 0; u < T; u++)
          if (w[u] != 0.0f) acc.axpy(w[u], v0 + u * H3);  // skips future (and dropped) keys, normally
        acc.store(o);
      } else {
        std::memset(o, 0, sizeof(float) * d);
        for (idx u = 0; u < T; u++) {
          const float au = w[u];
          if (au == 0.0f) continue;
          const float* v = v0 + u * H3;
#pragma omp simd
          for (idx i = 0; i < d; i++) o[i] += au * v[i];
        }
      }
    }
  }
}

template <int D, bool DROP>
void backwardTask(float* dqkv, const float* dout, const float* qkv, const float* att, idx b, idx h0, idx h1, idx T,
                  idx H, idx nHead, const DropParams* drop, float* scratch) {
  float* datt = scratch;
  float* m = scratch + T;  // the row's dropout multipliers
  const idx d = D > 0 ? D : H / nHead, H3 = 3 * H;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  for (idx t = 0; t < T; t++) {
    std::memset(dqkv + (b * T + t) * H3 + H + h0 * d, 0, sizeof(float) * d * (h1 - h0));
    std::memset(dqkv + (b * T + t) * H3 + 2 * H + h0 * d, 0, sizeof(float) * d * (h1 - h0));
  }
  for (idx t = 0; t < T; t++) {
    for (idx h = h0; h < h1; h++) {
      const float* a = att + ((b * nHead + h) * T + t) * T;
      const float* go = dout + (b * T + t) * H + h * d;
      const float* q = qkv + (b * T + t) * H3 + h * d;
      const float* k0 = qkv + b * T * H3 + H + h * d;
      const float* v0 = k0 + H;
      float* dq = dqkv + (b * T + t) * H3 + h * d;
      float* dk0 = dqkv + b * T * H3 + H + h * d;
      float* dv0 = dk0 + H;
      // out = Σ_u a[u]·m[u]·v[u]  →  datt[u] = (dout·v[u])·m[u], dv[u] += a[u]·m[u]·dout; then the softmax
      // backward ds[u] = a[u]·(datt[u] − Σ a·datt); a future key's score was a constant: no gradient to q, k.
      // (m = 1 without dropout. A key with a[u]·m[u] = 0 gets datt = 0: its datt only ever meets a factor
      // a[u] = 0, or is dropped.)
      if constexpr (DROP) dropRow(m, nullptr, *drop, b, h, t, T, nHead);
      float dot = 0;
      if constexpr (D > 0) {
        Head<D> g;
        g.load(go);
        for (idx u = 0; u < T; u++) {
          const float au = a[u];
          const float wu = DROP ? au * m[u] : au;
          if (wu == 0.0f) {
            datt[u] = 0.0f;
            continue;
          }
          const float s = g.dot(v0 + u * H3);
          datt[u] = DROP ? s * m[u] : s;
          dot += datt[u] * au;
          g.addTo(wu, dv0 + u * H3);
        }
        Head<D> qv, dqv;
        qv.load(q);
        dqv.zero();
        for (idx u = 0; u <= t; u++) {
          const float ds = a[u] * (datt[u] - dot) * scale;
          if (ds == 0.0f) continue;
          dqv.axpy(ds, k0 + u * H3);
          qv.addTo(ds, dk0 + u * H3);
        }
        dqv.store(dq);
      } else {
        for (idx u = 0; u < T; u++) {
          const float au = a[u];
          const float wu = DROP ? au * m[u] : au;
          if (wu == 0.0f) {
            datt[u] = 0.0f;
            continue;
          }
          const float* __restrict v = v0 + u * H3;
          float* __restrict dv = dv0 + u * H3;
          float s = 0;
          for (idx i = 0; i < d; i++) {
            s += go[i] * v[i];
            dv[i] += wu * go[i];
          }
          if constexpr (DROP) s *= m[u];
          datt[u] = s;
          dot += s * au;
        }
        std::memset(dq, 0, sizeof(float) * d);
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

using ForwardFn = void (*)(float*, float*, const float*, const float*, idx, idx, idx, idx, idx, idx, float,
                           const DropParams*, float*);
using BackwardFn = void (*)(float*, const float*, const float*, const float*, idx, idx, idx, idx, idx, idx,
                            const DropParams*, float*);

// Work split: whole sequences (all heads) per task when there are enough sequences to share out, else one
// (sequence, head) pair per task (the patch decoder's few long sequences), whose rows then fit in cache.
struct Split {
  idx tasks, headsPerTask;
};
Split split(idx B, idx nHead) {
  const idx teams = omp_get_max_threads();
  return B >= 4 * teams ? Split{B, nHead} : Split{B * nHead, 1};
}

template <bool DROP>
ForwardFn pickForward(idx d) {
  switch (d) {
    case 16: return forwardTask<16, DROP>;
    case 32: return forwardTask<32, DROP>;
    case 48: return forwardTask<48, DROP>;
    case 64: return forwardTask<64, DROP>;
    case 80: return forwardTask<80, DROP>;
    case 96: return forwardTask<96, DROP>;
    case 128: return forwardTask<128, DROP>;
    default: return forwardTask<0, DROP>;
  }
}

template <bool DROP>
BackwardFn pickBackward(idx d) {
  switch (d) {
    case 16: return backwardTask<16, DROP>;
    case 32: return backwardTask<32, DROP>;
    case 48: return backwardTask<48, DROP>;
    case 64: return backwardTask<64, DROP>;
    case 80: return backwardTask<80, DROP>;
    case 96: return backwardTask<96, DROP>;
    case 128: return backwardTask<128, DROP>;
    default: return backwardTask<0, DROP>;
  }
}

}  // namespace

void attention_forward(float* out, float* att, const float* qkv, const float* mask, idx B, idx T, idx H,
                       idx nHead, float maskValue, double dropP, std::uint32_t seed) {
  const idx d = H / nHead;
  const DropParams dp(dropP, seed);
  const DropParams* drop = dropP > 0 ? &dp : nullptr;
  const ForwardFn fn = drop ? pickForward<true>(d) : pickForward<false>(d);
  const Split sp = split(B, nHead);
  const bool par = sp.tasks > 1 && B * nHead * T * T * d > kParMin;
  const idx per = 4 * T;  // scratch floats per thread (allocated here: no allocation inside the region)
  std::vector<float> scratch(static_cast<size_t>(per * (par ? omp_get_max_threads() : 1)));
#pragma omp parallel if (par)
  {
    float* mine = scratch.data() + per * omp_get_thread_num();
#pragma omp for schedule(dynamic, 4)  // dynamic: a thread that loses its core does not hold up the rest
    for (idx task = 0; task < sp.tasks; task++) {
      const idx b = task * sp.headsPerTask / nHead, h0 = task * sp.headsPerTask % nHead;
      fn(out, att, qkv, mask, b, h0, h0 + sp.headsPerTask, T, H, nHead, maskValue, drop, mine);
    }
  }
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, idx B, idx T, idx H,
                        idx nHead, double dropP, std::uint32_t seed) {
  const idx d = H / nHead;
  const DropParams dp(dropP, seed);
  const DropParams* drop = dropP > 0 ? &dp : nullptr;
  const BackwardFn fn = drop ? pickBackward<true>(d) : pickBackward<false>(d);
  const Split sp = split(B, nHead);
  const bool par = sp.tasks > 1 && B * nHead * T * T * d > kParMin;
  const idx per = 2 * T;
  std::vector<float> scratch(static_cast<size_t>(per * (par ? omp_get_max_threads() : 1)));
#pragma omp parallel if (par)
  {
    float* mine = scratch.data() + per * omp_get_thread_num();
#pragma omp for schedule(dynamic, 4)
    for (idx task = 0; task < sp.tasks; task++) {
      const idx b = task * sp.headsPerTask / nHead, h0 = task * sp.headsPerTask % nHead;
      fn(dqkv, dout, qkv, att, b, h0, h0 + sp.headsPerTask, T, H, nHead, drop, mine);
    }
  }
}

}  // namespace bgpt
