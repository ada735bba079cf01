// cpu/gemm.cpp: float32 GEMM: OpenBLAS sgemm when built with it (MOE_BLAS=openblas),
// else the built-in blocked kernel of cpu/gemm_blocked.cpp.
#include <algorithm>
#include <chrono>

#include "moe/kernels/cpu/gemm_log.h"
#include "moe/kernels/kernels.h"

#ifdef MOE_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace moe::kernels::cpu {

namespace {
thread_local std::vector<GemmShape>* g_gemm_log = nullptr;
}

void set_gemm_log(std::vector<GemmShape>* log) { g_gemm_log = log; }

double replay_gemms_ms(const std::vector<GemmShape>& log, int reps) {
  int64_t a_max = 1, b_max = 1, c_max = 1;
  for (const GemmShape& g : log) {
    a_max = std::max(a_max, g.M * g.K);
    b_max = std::max(b_max, g.K * g.N);
    c_max = std::max(c_max, g.M * g.N);
  }
  std::vector<float> a(static_cast<size_t>(a_max), 0.5f), b(static_cast<size_t>(b_max), 0.25f),
      c(static_cast<size_t>(c_max), 0.0f);
  std::vector<double> ms;
  for (int r = 0; r <= reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const GemmShape& g : log)
      gemm(g.trans_a, g.trans_b, g.M, g.N, g.K, 1.0f, a.data(), g.trans_a ? g.M : g.K, b.data(),
           g.trans_b ? g.K : g.N, 0.0f, c.data(), g.N);
    if (r > 0)  // the first replay warms the caches and the thread pool
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (g_gemm_log) g_gemm_log->push_back({trans_a, trans_b, M, N, K});
#ifdef MOE_HAVE_OPENBLAS
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, A,
              static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
#else
  gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

}  // namespace moe::kernels::cpu
