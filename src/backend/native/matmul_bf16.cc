// Matrix products with bf16 operands and fp32 accumulation (mixed-precision training): oneDNN's matmul
// primitive with bf16 source and weights and an f32 destination. An fp32 operand is rounded to bf16 (to
// nearest, ties to even) into a scratch buffer first; a bf16 operand (the step's copy of the weights) is used
// as it is. Transposes are memory layouts (format tag ba), accumulation is a sum post-op and the bias is the
// primitive's own (added in its epilogue, no pass of its own).
//
// oneDNN picks the implementation for the CPU: AMX or avx512_bf16 where the CPU has them, else (oneDNN 2.6 on
// avx512_core) an emulation, correct but slower than fp32 sgemm. Where oneDNN has none at all (AVX2 CPUs),
// the rounded operands are widened back to fp32 and multiplied by sgemm: the same products (a bf16 × bf16
// product is exact in fp32), the same fp32 sums.
#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <list>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "kernels.h"
#include "sgemm.h"

namespace bgpt {

namespace {

using Key = std::tuple<idx, idx, idx, bool, bool, bool, bool>;  // M, K, N, transA, transB, accumulate, bias

struct Cached {
  Key key;
  dnnl::matmul prim;
  dnnl::memory::desc a, b, c, bias;
};

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// Training sees a handful of shapes per model (the row count changes with the batch's files), so a small
// most-recently-used list is enough; oneDNN's own primitive cache keeps the generated code.
constexpr size_t kCacheSize = 64;
std::list<Cached> cache;
bool unavailable = false;  // oneDNN has no bf16 matmul on this CPU: the sgemm path from then on

const Cached* primitive(idx M, idx K, idx N, bool tA, bool tB, bool acc, bool bias) {
  const Key key{M, K, N, tA, tB, acc, bias};
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    if (it->key != key) continue;
    cache.splice(cache.begin(), cache, it);
    return &cache.front();
  }
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  const dnnl::memory::desc a({M, K}, dt::bf16, tA ? tag::ba : tag::ab), b({K, N}, dt::bf16, tB ? tag::ba : tag::ab),
      c({M, N}, dt::f32, tag::ab), bd = bias ? dnnl::memory::desc({1, N}, dt::f32, tag::ab) : dnnl::memory::desc();
  dnnl::primitive_attr attr;
  if (acc) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  dnnl::matmul::primitive_desc pd(bias ? dnnl::matmul::desc(a, b, bd, c) : dnnl::matmul::desc(a, b, c), attr, engine());
  if (cache.size() >= kCacheSize) cache.pop_back();
  cache.push_front(Cached{key, dnnl::matmul(pd), a, b, c, bd});
  return &cache.front();
}

// The bf16 bits of an operand: itself when it is bf16 already, else rounded into `scratch`.
const std::uint16_t* as_bf16(const void* p, bool isBf16, idx n, std::vector<std::uint16_t>& scratch) {
  if (isBf16) return static_cast<const std::uint16_t*>(p);
  if (scratch.size() < static_cast<size_t>(n)) scratch.resize(static_cast<size_t>(n));
  to_bf16(scratch.data(), static_cast<const float*>(p), n);
  return scratch.data();
}

// C = (accumulate ? C : 0) + bias: the whole product when K = 0, the start of the fallback's sgemm.
void init_rows(float* C, const float* bias, idx M, idx N, bool accumulate) {
  for (idx i = 0; i < M; i++)
    for (idx j = 0; j < N; j++) C[i * N + j] = (accumulate ? C[i * N + j] : 0.0f) + (bias ? bias[j] : 0.0f);
}

// The fallback: the operands' bf16 values as fp32, then sgemm (beta 1 after init_rows).
int rounded_sgemm(float* C, const void* A, bool aBf16, const void* B, bool bBf16, const float* bias, idx M, idx K,
                  idx N, bool tA, bool tB, bool accumulate) {
  init_rows(C, bias, M, N, accumulate);
  std::vector<float> a(static_cast<size_t>(M * K)), b(static_cast<size_t>(K * N));
  for (idx i = 0; i < M * K; i++)
    a[i] = bf16_to_float(aBf16 ? static_cast<const std::uint16_t*>(A)[i] : round_bf16(static_cast<const float*>(A)[i]));
  for (idx i = 0; i < K * N; i++)
    b[i] = bf16_to_float(bBf16 ? static_cast<const std::uint16_t*>(B)[i] : round_bf16(static_cast<const float*>(B)[i]));
  return sgemm(tA ? 'T' : 'N', tB ? 'T' : 'N', M, N, K, 1.0f, a.data(), tA ? M : K, b.data(), tB ? K : N, 1.0f, C,
               N);
}

}  // namespace

void to_bf16(std::uint16_t* out, const float* x, idx n) {
  const int nt = threads_for(n * kNsStream);
  // the parallel region and the simd loop in two pragmas: combined, the loop runs unvectorised on one thread
#pragma omp parallel num_threads(nt) if (nt > 1)
#pragma omp for simd schedule(static)
  for (idx i = 0; i < n; i++) out[i] = round_bf16(x[i]);
}

int matmul_bf16(float* C, const void* A, bool aBf16, const void* B, bool bBf16, const float* bias, idx M, idx K,
                idx N, bool tA, bool tB, bool accumulate) {
  if (M == 0 || N == 0) return dnnl_success;
  if (K == 0) {
    init_rows(C, bias, M, N, accumulate);
    return dnnl_success;
  }
  const ThreadCap cap(threads_for(gemm_ns(M, K, N)));
  if (unavailable) return rounded_sgemm(C, A, aBf16, B, bBf16, bias, M, K, N, tA, tB, accumulate);
  const Cached* p;
  try {
    p = primitive(M, K, N, tA, tB, accumulate, bias != nullptr);
  } catch (const dnnl::error& e) {
    if (e.status != dnnl_unimplemented) return e.status;
    unavailable = true;
    return rounded_sgemm(C, A, aBf16, B, bBf16, bias, M, K, N, tA, tB, accumulate);
  }
  static std::vector<std::uint16_t> sa, sb;
  const std::uint16_t* a = as_bf16(A, aBf16, M * K, sa);
  const std::uint16_t* b = as_bf16(B, bBf16, K * N, sb);
  try {
    const SignalsBlocked quiet;  // oneDNN's JIT kernels (common.h)
    dnnl::stream s(engine());
    dnnl::memory am(p->a, engine(), const_cast<std::uint16_t*>(a)), bm(p->b, engine(), const_cast<std::uint16_t*>(b)),
        cm(p->c, engine(), C);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
    if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(p->bias, engine(), const_cast<float*>(bias)));
    p->prim.execute(s, args);
    s.wait();
  } catch (const dnnl::error& e) {
    return e.status;
  }
  return dnnl_success;
}

std::string bf16_implementation() {
  if (unavailable) return "";
  try {
    const dnnl::memory::desc a({64, 64}, dnnl::memory::data_type::bf16, dnnl::memory::format_tag::ab),
        c({64, 64}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, a, c), engine());
    return pd.impl_info_str();
  } catch (const dnnl::error&) {
    return "";
  }
}

}  // namespace bgpt
