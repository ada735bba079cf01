// cpu/gemm.cpp: float32 GEMM: OpenBLAS sgemm when built with it (MOE_BLAS=openblas),
// else the built-in blocked kernel of cpu/gemm_blocked.cpp.
#include "moe/kernels/kernels.h"

#ifdef MOE_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace moe::kernels::cpu {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
#ifdef MOE_HAVE_OPENBLAS
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, A,
              static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
#else
  gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

}  // namespace moe::kernels::cpu
