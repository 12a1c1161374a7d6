// Matrix products for the WebAssembly backend, in 128-bit SIMD (wasm simd128, four floats per vector).
// C[M,N] = A[M,K]·B[K,N] ("nn", GPT-2's Conv1D layers) and C[M,N] = A[M,K]·B[N,K]ᵀ ("nt", the tied lm_head
// and the classifier), then + bias[N] and + C when accumulating — the semantics of Kernels.matmul.
// Built freestanding (no libc): scripts/build-wasm.mjs. The caller owns all memory; nothing is allocated here.
#include <wasm_simd128.h>

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))

namespace {

inline void store(float* c, const float* bias, int j, float s, bool accumulate) {
  float v = s + (bias ? bias[j] : 0.0f);
  c[j] = accumulate ? c[j] + v : v;
}

inline void store4(float* c, const float* bias, int j, v128_t s, bool accumulate) {
  if (bias) s = wasm_f32x4_add(s, wasm_v128_load(bias + j));
  if (accumulate) s = wasm_f32x4_add(s, wasm_v128_load(c + j));
  wasm_v128_store(c + j, s);
}

// R rows × 8 columns of C in 2R vector registers; B's [K, 8] panel is reused by every row block.
template <int R>
inline void nnBlock(float* C, const float* A, const float* B, const float* bias, int i, int j, int K, int N, bool acc) {
  v128_t c0[R], c1[R];
  for (int r = 0; r < R; r++) c0[r] = c1[r] = wasm_f32x4_splat(0.0f);
  const float* a = A + i * K;
  for (int k = 0; k < K; k++) {
    const float* b = B + k * N + j;
    v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    for (int r = 0; r < R; r++) {
      v128_t x = wasm_f32x4_splat(a[r * K + k]);
      c0[r] = wasm_f32x4_add(c0[r], wasm_f32x4_mul(x, b0));
      c1[r] = wasm_f32x4_add(c1[r], wasm_f32x4_mul(x, b1));
    }
  }
  for (int r = 0; r < R; r++) {
    float* c = C + (i + r) * N;
    store4(c, bias, j, c0[r], acc);
    store4(c, bias, j + 4, c1[r], acc);
  }
}

inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

// R rows × 2 columns of dot products along K, both operands read contiguously.
template <int R>
inline void ntBlock(float* C, const float* A, const float* B, const float* bias, int i, int j, int K, int N, bool acc) {
  v128_t s0[R], s1[R];
  for (int r = 0; r < R; r++) s0[r] = s1[r] = wasm_f32x4_splat(0.0f);
  const float* b0 = B + j * K;
  const float* b1 = b0 + K;
  int K4 = K & ~3;
  for (int k = 0; k < K4; k += 4) {
    v128_t x0 = wasm_v128_load(b0 + k), x1 = wasm_v128_load(b1 + k);
    for (int r = 0; r < R; r++) {
      v128_t a = wasm_v128_load(A + (i + r) * K + k);
      s0[r] = wasm_f32x4_add(s0[r], wasm_f32x4_mul(a, x0));
      s1[r] = wasm_f32x4_add(s1[r], wasm_f32x4_mul(a, x1));
    }
  }
  for (int r = 0; r < R; r++) {
    const float* a = A + (i + r) * K;
    float t0 = hsum(s0[r]), t1 = hsum(s1[r]);
    for (int k = K4; k < K; k++) {
      t0 += a[k] * b0[k];
      t1 += a[k] * b1[k];
    }
    float* c = C + (i + r) * N;
    store(c, bias, j, t0, acc);
    store(c, bias, j + 1, t1, acc);
  }
}

float dot(const float* a, const float* b, int K) {
  v128_t s = wasm_f32x4_splat(0.0f);
  int K4 = K & ~3;
  for (int k = 0; k < K4; k += 4) s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(a + k), wasm_v128_load(b + k)));
  float t = hsum(s);
  for (int k = K4; k < K; k++) t += a[k] * b[k];
  return t;
}

}  // namespace

EXPORT(matmul_nn) void matmulNN(float* C, const float* A, const float* B, const float* bias, int M, int K, int N, int accumulate) {
  bool acc = accumulate != 0;
  int N8 = N & ~7;
  for (int j = 0; j < N8; j += 8) {
    int i = 0;
    for (; i + 4 <= M; i += 4) nnBlock<4>(C, A, B, bias, i, j, K, N, acc);
    for (; i < M; i++) nnBlock<1>(C, A, B, bias, i, j, K, N, acc);
  }
  if (N8 == N) return;
  for (int i = 0; i < M; i++) {  // the last N mod 8 columns
    for (int j = N8; j < N; j++) {
      float s = 0.0f;
      for (int k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
      store(C + i * N, bias, j, s, acc);
    }
  }
}

EXPORT(matmul_nt) void matmulNT(float* C, const float* A, const float* B, const float* bias, int M, int K, int N, int accumulate) {
  bool acc = accumulate != 0;
  int N2 = N & ~1;
  for (int j = 0; j < N2; j += 2) {
    int i = 0;
    for (; i + 4 <= M; i += 4) ntBlock<4>(C, A, B, bias, i, j, K, N, acc);
    for (; i < M; i++) ntBlock<1>(C, A, B, bias, i, j, K, N, acc);
  }
  if (N2 == N) return;
  for (int i = 0; i < M; i++) store(C + i * N, bias, N - 1, dot(A + i * K, B + (N - 1) * K, K), acc);
}
