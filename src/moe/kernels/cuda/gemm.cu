// kernels/cuda/gemm.cu: GEMM through cuBLAS: fp32 (cublasSgemm, no TF32), bf16 inputs
// with fp32 accumulation (cublasGemmEx), the grouped expert GEMM in one call
// (cublasGemmGroupedBatchedEx), and the bf16 <-> fp32 conversions.
// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so every call passes
// B before A and N before M.
#include <climits>
#include <cuda_bf16.h>
#include <vector>

#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

int checked_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) ::moe::cuda::fail("gemm", what, __FILE__, __LINE__);
  return static_cast<int>(v);
}

cublasOperation_t op_of(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

void gemm_ex(const char* name, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const void* A,
             cudaDataType_t a_type, int64_t lda, const void* B, cudaDataType_t b_type, int64_t ldb, float beta,
             void* C, cudaDataType_t c_type, int64_t ldc) {
  if (M == 0 || N == 0) return;
  MOE_CUBLAS_CHECK(cublasGemmEx(::moe::cuda::cublas(), op_of(tb), op_of(ta), checked_int(N, "N too large"),
                                checked_int(M, "M too large"), checked_int(K, "K too large"), &alpha, B, b_type,
                                checked_int(ldb, "ldb"), A, a_type, checked_int(lda, "lda"), &beta, C, c_type,
                                checked_int(ldc, "ldc"), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                   name);
}

__global__ void f32_to_bf16_kernel(const float* x, __nv_bfloat16* y, int64_t n) {
  MOE_GRID_STRIDE(i, n) y[i] = __float2bfloat16_rn(x[i]);
}
__global__ void bf16_to_f32_kernel(const __nv_bfloat16* x, float* y, int64_t n) {
  MOE_GRID_STRIDE(i, n) y[i] = __bfloat162float(x[i]);
}

// One group per non-empty segment (group size 1 each): cuBLAS takes per-group shapes
// from host arrays and the matrix pointers from a device array.
struct GroupedProblem {
  std::vector<cublasOperation_t> ta, tb;
  std::vector<int> m, n, k, lda, ldb, ldc, group_size;
  std::vector<float> alpha, beta;
  std::vector<const void*> a, b;
  std::vector<void*> c;
  void add(cublasOperation_t opa, cublasOperation_t opb, int mm, int nn, int kk, const void* pa, int la,
           const void* pb, int lb, void* pc, int lc, float be) {
    ta.push_back(opa), tb.push_back(opb), m.push_back(mm), n.push_back(nn), k.push_back(kk);
    a.push_back(pa), lda.push_back(la), b.push_back(pb), ldb.push_back(lb), c.push_back(pc), ldc.push_back(lc);
    alpha.push_back(1.f), beta.push_back(be), group_size.push_back(1);
  }
  void run(const char* name, cudaDataType_t type) {
    const int groups = static_cast<int>(m.size());
    if (groups == 0) return;
    // The pointer arrays go to the device in one copy: a, b, c back to back.
    std::vector<const void*> ptrs(a);
    ptrs.insert(ptrs.end(), b.begin(), b.end());
    for (void* p : c) ptrs.push_back(p);
    DeviceBuffer dev(ptrs.size() * sizeof(void*));
    ::moe::cuda::copy_host_to_device(dev.as<void>(), ptrs.data(), ptrs.size() * sizeof(void*), name);
    const void* const* da = dev.as<const void* const>();
    const void* const* db = da + groups;
    void* const* dc = const_cast<void* const*>(reinterpret_cast<const void* const*>(da + 2 * groups));
    cublasStatus_t st = cublasGemmGroupedBatchedEx(::moe::cuda::cublas(), ta.data(), tb.data(), m.data(), n.data(),
                                                   k.data(), alpha.data(), da, type, lda.data(), db, type, ldb.data(),
                                                   beta.data(), dc, type, ldc.data(), groups, group_size.data(),
                                                   CUBLAS_COMPUTE_32F);
    if (st == CUBLAS_STATUS_NOT_SUPPORTED) {  // older cuBLAS or this type: one GemmEx per group
      for (int g = 0; g < groups; ++g)
        MOE_CUBLAS_CHECK(cublasGemmEx(::moe::cuda::cublas(), ta[g], tb[g], m[g], n[g], k[g], &alpha[g], a[g], type,
                                      lda[g], b[g], type, ldb[g], &beta[g], c[g], type, ldc[g], CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT),
                         name);
      return;
    }
    MOE_CUBLAS_CHECK(st, name);
    // `dev` is freed on return while the GEMM may still be queued: the caching allocator
    // hands it out again only to later work on the same stream.
  }
};

template <class T>
void grouped_gemm_impl(const char* name, cudaDataType_t type, const T* X, const T* W, T* Y, const int64_t* offsets,
                       int64_t E, int64_t N, int64_t K, bool trans_w, float beta) {
  GroupedProblem prob;
  for (int64_t e = 0; e < E; ++e) {
    const int64_t rows = offsets[e + 1] - offsets[e];
    if (rows == 0) continue;
    // Y_e^T (N, rows) = op(W_e) (N, K) X_e^T (K, rows), column-major.
    prob.add(op_of(trans_w), CUBLAS_OP_N, checked_int(N, "N"), checked_int(rows, "rows"), checked_int(K, "K"),
             W + e * N * K, checked_int(trans_w ? K : N, "ldw"), X + offsets[e] * K, checked_int(K, "K"),
             Y + offsets[e] * N, checked_int(N, "N"), beta);
  }
  prob.run(name, type);
}

template <class T>
void grouped_weight_grad_impl(const char* name, cudaDataType_t type, const T* X, const T* dY, T* dW,
                              const int64_t* offsets, int64_t E, int64_t N, int64_t K, float beta) {
  GroupedProblem prob;
  for (int64_t e = 0; e < E; ++e) {
    const int64_t rows = offsets[e + 1] - offsets[e];
    if (rows == 0) {  // no tokens: the gradient of this expert is beta * itself (0 when beta is 0)
      if (beta == 0.f) ::moe::cuda::memset_device(dW + e * N * K, 0, sizeof(T) * N * K, name);
      continue;
    }
    // dW_e^T (K, N) = X_e^T (K, rows) dY_e (rows, N), column-major.
    prob.add(CUBLAS_OP_N, CUBLAS_OP_T, checked_int(K, "K"), checked_int(N, "N"), checked_int(rows, "rows"),
             X + offsets[e] * K, checked_int(K, "K"), dY + offsets[e] * N, checked_int(N, "N"), dW + e * N * K,
             checked_int(K, "K"), beta);
  }
  prob.run(name, type);
}

}  // namespace

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  MOE_CUBLAS_CHECK(cublasSgemm(::moe::cuda::cublas(), op_of(tb), op_of(ta), checked_int(N, "N too large"),
                               checked_int(M, "M too large"), checked_int(K, "K too large"), &alpha, B,
                               checked_int(ldb, "ldb"), A, checked_int(lda, "lda"), &beta, C, checked_int(ldc, "ldc")),
                   "gemm (cublasSgemm)");
}

void gemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A, int64_t lda,
               const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_ex("gemm_bf16 (cublasGemmEx)", ta, tb, M, N, K, alpha, A, CUDA_R_16BF, lda, B, CUDA_R_16BF, ldb, beta, C,
          CUDA_R_32F, ldc);
}

void gemm_bf16_out_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                        int64_t lda, const uint16_t* B, int64_t ldb, float beta, uint16_t* C, int64_t ldc) {
  gemm_ex("gemm_bf16 (cublasGemmEx)", ta, tb, M, N, K, alpha, A, CUDA_R_16BF, lda, B, CUDA_R_16BF, ldb, beta, C,
          CUDA_R_16BF, ldc);
}

void f32_to_bf16(const float* x, uint16_t* y, int64_t n) {
  if (n == 0) return;
  f32_to_bf16_kernel<<<grid_for(n), kThreads, 0, stream()>>>(x, reinterpret_cast<__nv_bfloat16*>(y), n);
  MOE_CUDA_LAUNCHED("f32_to_bf16");
}

void bf16_to_f32(const uint16_t* x, float* y, int64_t n) {
  if (n == 0) return;
  bf16_to_f32_kernel<<<grid_for(n), kThreads, 0, stream()>>>(reinterpret_cast<const __nv_bfloat16*>(x), y, n);
  MOE_CUDA_LAUNCHED("bf16_to_f32");
}

void grouped_gemm(const float* X, const float* W, float* Y, const int64_t* offsets, int64_t E, int64_t N, int64_t K,
                  bool trans_w, float beta) {
  grouped_gemm_impl("grouped_gemm (cublasGemmGroupedBatchedEx)", CUDA_R_32F, X, W, Y, offsets, E, N, K, trans_w,
                    beta);
}

void grouped_gemm_bf16(const uint16_t* X, const uint16_t* W, uint16_t* Y, const int64_t* offsets, int64_t E,
                       int64_t N, int64_t K, bool trans_w, float beta) {
  grouped_gemm_impl("grouped_gemm_bf16 (cublasGemmGroupedBatchedEx)", CUDA_R_16BF, X, W, Y, offsets, E, N, K,
                    trans_w, beta);
}

void grouped_gemm_weight_grad(const float* X, const float* dY, float* dW, const int64_t* offsets, int64_t E,
                              int64_t N, int64_t K, float beta) {
  grouped_weight_grad_impl("grouped_gemm_weight_grad (cublasGemmGroupedBatchedEx)", CUDA_R_32F, X, dY, dW, offsets, E,
                           N, K, beta);
}

void grouped_gemm_weight_grad_bf16(const uint16_t* X, const uint16_t* dY, uint16_t* dW, const int64_t* offsets,
                                   int64_t E, int64_t N, int64_t K, float beta) {
  grouped_weight_grad_impl("grouped_gemm_weight_grad_bf16 (cublasGemmGroupedBatchedEx)", CUDA_R_16BF, X, dY, dW,
                           offsets, E, N, K, beta);
}

}  // namespace moe::kernels::cuda
