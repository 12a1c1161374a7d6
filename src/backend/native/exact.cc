// Exact inference kernels: every output element is one fixed sequence of IEEE single-precision operations
// (round to nearest, no contraction into fused multiply-add, exp and tanh from + and × only, sums in
// ascending index order), mirrored operation for operation by src/backend/exact/ts.ts. Threads and SIMD only
// split the work across output elements, never inside one, so results do not depend on them.
//
// This file is compiled on its own (binding.gyp target bgpt_exact) with -ffp-contract=off and without any
// fast-math flag; the pragma says the same to compilers that honour it. (-fno-trapping-math only lets selects
// vectorise: no floating-point exception is ever enabled, so no value changes.)
#pragma STDC FP_CONTRACT OFF

#include "exact.h"
#include "pool.h"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace bgpt {
namespace exact {
namespace {

// The float constants, written exactly (the TypeScript side gets the same bits from Math.fround).
constexpr float kLog2e = 0x1.715476p0f;
constexpr float kLn2Hi = 0x1.630000p-1f;
constexpr float kLn2Lo = -0x1.bd0106p-13f;
constexpr float kP0 = 0x1.a0d2cep-13f;
constexpr float kP1 = 0x1.6e879cp-10f;
constexpr float kP2 = 0x1.111210p-7f;
constexpr float kP3 = 0x1.555382p-5f;
constexpr float kP4 = 0x1.555554p-3f;
constexpr float kP5 = 0x1.000000p-1f;
constexpr float kExpLo = -0x1.5d589ep6f;
constexpr float kExpHi = 0x1.600000p6f;
constexpr float kGeluC = 0x1.988454p-1f;
constexpr float kGeluA = 0x1.6e4e26p-5f;
constexpr float kLnEps = 0x1.4f8b58p-17f;
constexpr float kSpread = 65280.0f;  // FREQ_SPREAD

// Below this many multiply-adds a call stays on the calling thread.
constexpr idx kParMin = idx(1) << 16;

// IEEE defaults for the duration of a kernel on this thread: round to nearest, subnormals neither flushed
// nor treated as zero (a library elsewhere in the process may have changed them).
class FpEnv {
 public:
#if defined(__x86_64__) || defined(__i386__)
  FpEnv() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ & ~(0x8000u | 0x0040u | 0x6000u)); }
  ~FpEnv() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#elif defined(__aarch64__)
  FpEnv() {
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved_));
    const std::uint64_t v = saved_ & ~((std::uint64_t(1) << 24) | (std::uint64_t(3) << 22));
    __asm__ volatile("msr fpcr, %0" : : "r"(v));
  }
  ~FpEnv() { __asm__ volatile("msr fpcr, %0" : : "r"(saved_)); }

 private:
  std::uint64_t saved_;
#else
  FpEnv() {}
#endif
};

inline float pow2(int n) {  // n in [-126, 127]
  return __builtin_bit_cast(float, static_cast<std::int32_t>((n + 127) << 23));
}

// Written without branches (selects only) so that loops over it vectorise; the arithmetic is the same.
inline float exp_f(float x) {
  const float xc = x != x ? 0.0f : (x < kExpLo ? kExpLo : (x > kExpHi ? kExpHi : x));
  const float n = std::floor(xc * kLog2e + 0.5f);
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  const float z = r * r;
  float p = kP0;
  p = p * r + kP1;
  p = p * r + kP2;
  p = p * r + kP3;
  p = p * r + kP4;
  p = p * r + kP5;
  p = p * z + r + 1.0f;
  const float e = p * pow2(static_cast<int>(n));
  return x != x ? x : (x < kExpLo ? 0.0f : e);
}

inline float tanh_f(float u) {
  const float a0 = std::fabs(u), a = a0 > 10.0f ? 10.0f : a0;  // |−0| = +0 changes nothing: exp(±0) = 1
  const float t = 1.0f - 2.0f / (exp_f(2.0f * a) + 1.0f);
  return u < 0.0f ? -t : t;
}

}  // namespace

float exp_exact(float x) {
  FpEnv env;
  return exp_f(x);
}

float tanh_exact(float u) {
  FpEnv env;
  return tanh_f(u);
}

namespace {

constexpr idx kBlock = 64;  // outputs per task

// Weights are floats, or IEEE half values (a model stored in 16 bits: its float values are exactly those
// halves, so reading them widened gives the same bits while moving half the bytes). Widening is exact.
inline float widen(float w) { return w; }
inline float widen(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);  // inf, nan
  else if (exp != 0) bits = sign | ((exp + 112u) << 23) | (man << 13);
  else if (man == 0) bits = sign;
  else {  // subnormal half: normalise (man · 2^−24 is a normal float)
    exp = 113;
    while (!(man & 0x400u)) man <<= 1, exp--;
    bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

#if !defined(__AVX512F__)
constexpr idx kRows = 4;  // rows per task: each weight loaded once serves four rows

// Outputs [n0, n0 + kBlock) of rows [r0, r0 + kRows): fixed sizes, so the accumulators stay in registers.
template <idx Rows, typename W>
void linear_tile(float* out, const float* x, const W* w, const float* b, idx r0, idx n0, idx K, idx N, idx ldw) {
  float acc[Rows][kBlock] = {};
  for (idx k = 0; k < K; k++) {
    const W* __restrict wk = w + k * ldw + n0;
    for (idx i = 0; i < Rows; i++) {
      const float xv = x[(r0 + i) * K + k];
      for (idx j = 0; j < kBlock; j++) acc[i][j] += xv * widen(wk[j]);
    }
  }
  for (idx i = 0; i < Rows; i++)
    for (idx j = 0; j < kBlock; j++) out[(r0 + i) * N + n0 + j] = b ? acc[i][j] + b[n0 + j] : acc[i][j];
}

// Any rows and outputs (the edges): the same operations in the same order per element.
template <typename W>
void linear_edge(float* out, const float* x, const W* w, const float* b, idx r0, idx r1, idx n0, idx n1, idx K, idx N, idx ldw) {
  for (idx r = r0; r < r1; r++) {
    float* __restrict o = out + r * N;
    for (idx n = n0; n < n1; n++) o[n] = 0.0f;
    for (idx k = 0; k < K; k++) {
      const float xv = x[r * K + k];
      const W* __restrict wk = w + k * ldw;
      for (idx n = n0; n < n1; n++) o[n] += xv * widen(wk[n]);
    }
    if (b)
      for (idx n = n0; n < n1; n++) o[n] += b[n];
  }
}

#else
// The same products with AVX-512 written out: Rows × 4 vectors of 16 outputs in registers (24 accumulators
// at six rows), one multiply and one add per element and k, k ascending, masked lanes past N. Each lane
// computes exactly what the scalar loop computes for its output. The unroll pragmas let GCC keep acc in
// registers (without them it spills the array to the stack).
constexpr idx kRows512 = 6;

inline __m512 load_w(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load_w(const std::uint16_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }

template <int Rows, typename W>
void linear_tile512(float* out, const float* x, const W* w, const float* b, idx r0, idx n0, idx K, idx N, idx ldw) {
  constexpr int V = kBlock / 16;
  __mmask16 m[V];
#pragma GCC unroll 4
  for (int j = 0; j < V; j++) {
    const idx left = N - n0 - 16 * j;
    m[j] = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
  }
  __m512 acc[Rows][V];
#pragma GCC unroll 6
  for (int i = 0; i < Rows; i++)
#pragma GCC unroll 4
    for (int j = 0; j < V; j++) acc[i][j] = _mm512_setzero_ps();
  const float* xr = x + r0 * K;
  const W* wk = w + n0;
  for (idx k = 0; k < K; k++, wk += ldw) {
    __m512 wv[V];
#pragma GCC unroll 4
    for (int j = 0; j < V; j++) wv[j] = load_w(wk + 16 * j, m[j]);
#pragma GCC unroll 6
    for (int i = 0; i < Rows; i++) {
      const __m512 xv = _mm512_set1_ps(xr[i * K + k]);
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) acc[i][j] = _mm512_add_ps(acc[i][j], _mm512_mul_ps(xv, wv[j]));
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < Rows; i++)
#pragma GCC unroll 4
    for (int j = 0; j < V; j++) {
      __m512 v = acc[i][j];
      if (b) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], b + n0 + 16 * j));
      _mm512_mask_storeu_ps(out + (r0 + i) * N + n0 + 16 * j, m[j], v);
    }
}

template <typename W>
void linear_rows512(float* out, const float* x, const W* w, const float* b, idx r0, idx rows, idx n0, idx K, idx N, idx ldw) {
  switch (rows) {
    case 1: return linear_tile512<1>(out, x, w, b, r0, n0, K, N, ldw);
    case 2: return linear_tile512<2>(out, x, w, b, r0, n0, K, N, ldw);
    case 3: return linear_tile512<3>(out, x, w, b, r0, n0, K, N, ldw);
    case 4: return linear_tile512<4>(out, x, w, b, r0, n0, K, N, ldw);
    case 5: return linear_tile512<5>(out, x, w, b, r0, n0, K, N, ldw);
    default: return linear_tile512<6>(out, x, w, b, r0, n0, K, N, ldw);
  }
}
#endif

template <typename W>
struct LinearWork {
  float* out;
  const float* x;
  const W* w;
  const float* b;
  idx R, K, N, ldw, rb;
};

// Task t: a group of rows of one block of outputs, the rows varying fastest (a thread keeps one block's
// K × 64 weights in cache while the rows stream past, instead of reading the whole matrix per few rows).
template <typename W>
void linear_task(const LinearWork<W>& L, idx t) {
  FpEnv env;
#if defined(__AVX512F__)
  const idx r0 = (t % L.rb) * kRows512, n0 = (t / L.rb) * kBlock;
  linear_rows512(L.out, L.x, L.w, L.b, r0, (L.R - r0 < kRows512 ? L.R - r0 : kRows512), n0, L.K, L.N, L.ldw);
#else
  const idx r0 = (t % L.rb) * kRows, n0 = (t / L.rb) * kBlock;
  const idx r1 = r0 + kRows < L.R ? r0 + kRows : L.R, n1 = n0 + kBlock < L.N ? n0 + kBlock : L.N;
  if (n1 - n0 < kBlock) linear_edge(L.out, L.x, L.w, L.b, r0, r1, n0, n1, L.K, L.N, L.ldw);
  else if (r1 - r0 == kRows) linear_tile<kRows>(L.out, L.x, L.w, L.b, r0, n0, L.K, L.N, L.ldw);
  else
    for (idx r = r0; r < r1; r++) linear_tile<1>(L.out, L.x, L.w, L.b, r, n0, L.K, L.N, L.ldw);
#endif
}

template <typename W>
void linear_chunk(void* ctx, int t) {
  linear_task(*static_cast<const LinearWork<W>*>(ctx), t);
}

// Few rows (decoding: one per lane) go to the decoding pool (pool.h), whose helpers are awake when products
// come back to back; an OpenMP region there would wake a sleeping team each time.
constexpr idx kPoolRows = 64;

template <typename W>
void linear_any(float* out, const float* x, const W* w, const float* b, idx R, idx K, idx N, idx ldw) {
#if defined(__AVX512F__)
  constexpr idx rows = kRows512;
#else
  constexpr idx rows = kRows;
#endif
  const idx rb = (R + rows - 1) / rows, tasks = rb * ((N + kBlock - 1) / kBlock);
  LinearWork<W> work{out, x, w, b, R, K, N, ldw, rb};
  const bool parallel = R * K * N >= 4 * kParMin;
  if (R <= kPoolRows && tasks < 65536) {
    run_chunks(&linear_chunk<W>, &work, static_cast<int>(tasks), parallel ? omp_get_max_threads() : 1);
    return;
  }
#pragma omp parallel for schedule(static) if (parallel)
  for (idx t = 0; t < tasks; t++) linear_task(work, t);
}

}  // namespace

void linear(float* out, const float* x, const float* w, const float* b, idx R, idx K, idx N, idx ldw) { linear_any(out, x, w, b, R, K, N, ldw); }

void linear16(float* out, const float* x, const std::uint16_t* w, const float* b, idx R, idx K, idx N, idx ldw) {
  linear_any(out, x, w, b, R, K, N, ldw);
}

void layer_norm(float* out, const float* x, const float* g, const float* b, idx R, idx D) {
  const float fd = static_cast<float>(D);
#pragma omp parallel for schedule(static) if (R * D >= kParMin)
  for (idx r = 0; r < R; r++) {
    FpEnv env;
    const float* xr = x + r * D;
    float* o = out + r * D;
    float s = 0.0f;
    for (idx i = 0; i < D; i++) s += xr[i];
    const float mean = s / fd;
    float v = 0.0f;
    for (idx i = 0; i < D; i++) {
      const float d = xr[i] - mean;
      v += d * d;
    }
    const float rstd = 1.0f / std::sqrt(v / fd + kLnEps);
    for (idx i = 0; i < D; i++) o[i] = ((xr[i] - mean) * rstd) * g[i] + b[i];
  }
}

#if defined(__AVX512F__)
namespace {

// exp_f and tanh_f on 16 lanes: the same operations, selects as masks (floor is exact in any form).
inline __m512 exp_v(__m512 x) {
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), lo = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpLo), _CMP_LT_OQ),
                  hi = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpHi), _CMP_GT_OQ);
  __m512 xc = _mm512_mask_blend_ps(lo, x, _mm512_set1_ps(kExpLo));
  xc = _mm512_mask_blend_ps(hi, xc, _mm512_set1_ps(kExpHi));
  xc = _mm512_mask_blend_ps(nan, xc, _mm512_setzero_ps());
  const __m512 n = _mm512_roundscale_ps(_mm512_add_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)), _mm512_set1_ps(0.5f)),
                                        _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_sub_ps(xc, _mm512_mul_ps(n, _mm512_set1_ps(kLn2Hi)));
  r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(kLn2Lo)));
  const __m512 z = _mm512_mul_ps(r, r);
  __m512 p = _mm512_set1_ps(kP0);
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(kP1));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(kP2));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(kP3));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(kP4));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(kP5));
  p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, z), r), _mm512_set1_ps(1.0f));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
  __m512 e = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
  e = _mm512_mask_blend_ps(lo, e, _mm512_setzero_ps());
  return _mm512_mask_blend_ps(nan, e, x);
}

inline __m512 tanh_v(__m512 u) {
  const __m512 a0 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(u), _mm512_set1_epi32(0x7fffffff)));
  const __m512 a = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a0, _mm512_set1_ps(10.0f), _CMP_GT_OQ), a0, _mm512_set1_ps(10.0f));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 t = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(exp_v(_mm512_mul_ps(_mm512_set1_ps(2.0f), a)), one)));
  const __mmask16 neg = _mm512_cmp_ps_mask(u, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(neg, t, _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(t), _mm512_set1_epi32(int(0x80000000u)))));
}

}  // namespace
#endif

void gelu(float* out, const float* x, idx n) {
  // chunks of 1024 elements per task (whole vectors but the last chunk's tail)
  constexpr idx kChunk = 1024;
  const idx tasks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= 16 * kChunk * 16)  // decoding's few rows: one thread (no team to wake)
  for (idx t = 0; t < tasks; t++) {
    FpEnv env;
    const idx i0 = t * kChunk, i1 = i0 + kChunk < n ? i0 + kChunk : n;
    idx i = i0;
#if defined(__AVX512F__)
    for (; i < i1; i += 16) {
      const __mmask16 m = i1 - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (i1 - i)) - 1u);
      const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
      const __m512 u = _mm512_mul_ps(_mm512_set1_ps(kGeluC), _mm512_add_ps(v, _mm512_mul_ps(_mm512_set1_ps(kGeluA), _mm512_mul_ps(_mm512_mul_ps(v, v), v))));
      _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), tanh_v(u))));
    }
#endif
    for (; i < i1; i++) {
      const float v = x[i];
      const float u = kGeluC * (v + kGeluA * ((v * v) * v));
      out[i] = (0.5f * v) * (1.0f + tanh_f(u));
    }
  }
}

namespace {
// Eight positions' scores at once: eight independent sums (each in the scalar order) hide the adds' latency.
// Not vectorised: the compiler would turn the strided reads into gathers, which are slower here.
__attribute__((optimize("no-tree-vectorize"))) void dots8(float* sc, const float* q, const float* k, idx kvStride, idx dh, float scale) {
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f, s4 = 0.0f, s5 = 0.0f, s6 = 0.0f, s7 = 0.0f;
  for (idx d = 0; d < dh; d++) {
    const float qd = q[d];
    s0 += qd * k[d];
    s1 += qd * k[kvStride + d];
    s2 += qd * k[2 * kvStride + d];
    s3 += qd * k[3 * kvStride + d];
    s4 += qd * k[4 * kvStride + d];
    s5 += qd * k[5 * kvStride + d];
    s6 += qd * k[6 * kvStride + d];
    s7 += qd * k[7 * kvStride + d];
  }
  sc[0] = s0 * scale, sc[1] = s1 * scale, sc[2] = s2 * scale, sc[3] = s3 * scale;
  sc[4] = s4 * scale, sc[5] = s5 * scale, sc[6] = s6 * scale, sc[7] = s7 * scale;
}
}  // namespace

namespace {
struct AttendWork {
  float* out;
  const float* qkv;
  const float* kv;
  idx kvStride, R, past, H, heads, T;
  const std::int32_t* slots;
  const std::int32_t* pasts;
  float scale;
};

// One (row, head) of attend; sc holds at least T floats.
void attend_task(const AttendWork& A, idx task, float* sc) {
  float* out = A.out;
  const float* qkv = A.qkv;
  const float* kv = A.kv;
  const idx kvStride = A.kvStride, R = A.R, past = A.past, H = A.H, heads = A.heads, T = A.T, dh = H / heads;
  const std::int32_t* slots = A.slots;
  const std::int32_t* pasts = A.pasts;
  const float scale = A.scale;
  const idx h = task % heads, br = task / heads, b = br / R, r = br % R;
  const idx slot = slots ? slots[b] : b, n = (pasts ? pasts[b] : past) + r + 1;
  const float* q = qkv + br * 3 * H + h * dh;
  const float* kh = kv + slot * T * kvStride + h * dh;
  idx t = 0;
  for (; t + 8 <= n; t += 8) dots8(sc + t, q, kh + t * kvStride, kvStride, dh, scale);
  for (; t < n; t++) {
    const float* k = kh + t * kvStride;
    float s = 0.0f;
    for (idx d = 0; d < dh; d++) s += q[d] * k[d];
    sc[t] = s * scale;
  }
  float mx = sc[0];
  for (t = 1; t < n; t++)
    if (sc[t] > mx) mx = sc[t];
  t = 0;
#if defined(__AVX512F__)
  for (; t + 16 <= n; t += 16) _mm512_storeu_ps(sc + t, exp_v(_mm512_sub_ps(_mm512_loadu_ps(sc + t), _mm512_set1_ps(mx))));
#endif
  for (; t < n; t++) sc[t] = exp_f(sc[t] - mx);
  float sum = 0.0f;
  for (t = 0; t < n; t++) sum += sc[t];
  float* __restrict o = out + br * H + h * dh;
  for (idx d = 0; d < dh; d++) o[d] = 0.0f;
  for (idx t = 0; t < n; t++) {
    const float p = sc[t] / sum;
    const float* __restrict v = kv + (slot * T + t) * kvStride + H + h * dh;
    for (idx d = 0; d < dh; d++) o[d] += p * v[d];
  }
}

void attend_chunk(void* ctx, int task) {
  thread_local std::vector<float> sc;
  const AttendWork& A = *static_cast<const AttendWork*>(ctx);
  if (sc.size() < static_cast<size_t>(A.T)) sc.resize(static_cast<size_t>(A.T));
  FpEnv env;
  attend_task(A, task, sc.data());
}
}  // namespace

void attend(float* out, const float* qkv, const float* kv, idx kvStride, idx B, idx R, idx past, idx H, idx heads, idx seqStride,
            const std::int32_t* slots, const std::int32_t* pasts) {
  const idx tasks = B * R * heads;
  idx longest = past;
  if (pasts)
    for (idx b = 0; b < B; b++) longest = pasts[b] > longest ? pasts[b] : longest;
  AttendWork work{out, qkv, kv, kvStride, R, past, H, heads, seqStride, slots, pasts, 1.0f / std::sqrt(static_cast<float>(H / heads))};
  const bool parallel = tasks * (longest + R) * (H / heads) >= kParMin;
  if (B * R <= kPoolRows && tasks < 65536) {  // decoding: the pool, as for linear
    run_chunks(&attend_chunk, &work, static_cast<int>(tasks), parallel ? omp_get_max_threads() : 1);
    return;
  }
#pragma omp parallel if (parallel)
  {
    FpEnv env;
    std::vector<float> sc(static_cast<size_t>(seqStride));
#pragma omp for schedule(static)
    for (idx task = 0; task < tasks; task++) attend_task(work, task, sc.data());
  }
}

void patch_embed(float* out, const float* wT, const float* bias, const std::int32_t* tokens, idx R, idx S, idx H, idx V) {
#pragma omp parallel for schedule(static) if (R * S * H >= kParMin)
  for (idx r = 0; r < R; r++) {
    FpEnv env;
    float* __restrict o = out + r * H;
    for (idx h = 0; h < H; h++) o[h] = 0.0f;
    for (idx s = 0; s < S; s++) {
      const float* __restrict w = wT + (s * V + tokens[r * S + s]) * H;
      for (idx h = 0; h < H; h++) o[h] += w[h];
    }
    for (idx h = 0; h < H; h++) o[h] += bias[h];
  }
}

void freqs(std::int32_t* out, const float* logits, idx R) {
#pragma omp parallel for schedule(static) if (R * 256 * 16 >= kParMin)
  for (idx r = 0; r < R; r++) {
    FpEnv env;
    const float* l = logits + r * 256;
    std::int32_t* o = out + r * 256;
    float e[256];
    float mx = l[0];
    for (int i = 1; i < 256; i++)
      if (l[i] > mx) mx = l[i];
    for (int i = 0; i < 256; i++) e[i] = exp_f(l[i] - mx);
    float sum = 0.0f;
    for (int i = 0; i < 256; i++) sum += e[i];
    const float c = kSpread / sum;
    for (int i = 0; i < 256; i++) {
      const float q = std::floor(e[i] * c);
      // NaN (a broken model) or rounding past the spread: clamp, the coder only needs every frequency ≥ 1
      o[i] = 1 + (q >= 0.0f ? (q <= kSpread ? static_cast<std::int32_t>(q) : static_cast<std::int32_t>(kSpread)) : 0);
    }
  }
}

}  // namespace exact
}  // namespace bgpt
