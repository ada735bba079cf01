// cpu/gemm_blocked.cpp: the built-in GEMM for builds without BLAS (MOE_BLAS=none):
// rows of C in parallel, an i-k-j loop order whose inner loop is a unit-stride axpy.
#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

void gemm_blocked(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc) {
  parallel_for(M, N * K, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float* c = C + i * ldc;
      if (beta == 0.0f) {
        for (int64_t j = 0; j < N; ++j) c[j] = 0.0f;
      } else if (beta != 1.0f) {
        for (int64_t j = 0; j < N; ++j) c[j] *= beta;
      }
      for (int64_t k = 0; k < K; ++k) {
        const float a = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
        if (!trans_b) {
          const float* b = B + k * ldb;
          for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
        } else {
          for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
        }
      }
    }
  });
}

}  // namespace moe::kernels::cpu
