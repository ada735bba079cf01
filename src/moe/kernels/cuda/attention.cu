// kernels/cuda/attention.cu: scaled dot-product attention (Vaswani et al. 2017, eq. 1) with
// the saved (BH, T, T) probabilities, the signature the attention op uses today: the two
// products run as cuBLAS strided-batched GEMMs and the softmax and its Jacobian as row
// kernels. The memory-lean fused version (no T x T matrix) is flash_attention.cu.
#include <climits>

#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

// Row-major C_b = alpha op(A_b) op(B_b) + beta C_b for b < batch (see gemm.cu for the swap).
void batched_gemm(const char* name, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta, float* C,
                  int64_t ldc, int64_t stride_c, int64_t batch) {
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || batch > INT_MAX) ::moe::cuda::fail(name, "size over INT_MAX", __FILE__, __LINE__);
  MOE_CUBLAS_CHECK(cublasSgemmStridedBatched(::moe::cuda::cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                             ta ? CUBLAS_OP_T : CUBLAS_OP_N, int(N), int(M), int(K), &alpha, B,
                                             int(ldb), stride_b, A, int(lda), stride_a, &beta, C, int(ldc), stride_c,
                                             int(batch)),
                   name);
}

// Row (bh, t) of s: p = softmax(scale * s) over the keys the row may see, zero after them.
__global__ void attention_softmax_kernel(float* s, int64_t Tn, bool causal, float scale) {
  const int64_t row = blockIdx.x, t = row % Tn;
  const int64_t n = causal ? t + 1 : Tn;
  float* p = s + row * Tn;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, p[j] * scale);
  m = block_max(m);
  float total = 0.f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) total += expf(p[j] * scale - m);
  const float inv = 1.f / block_sum(total);
  for (int64_t j = threadIdx.x; j < Tn; j += blockDim.x) p[j] = j < n ? expf(p[j] * scale - m) * inv : 0.f;
}

// dS = scale * P * (dP - rowsum(dP * P)), in place over dP.
__global__ void attention_softmax_backward_kernel(const float* probs, float* dp, int64_t Tn, float scale) {
  const int64_t row = blockIdx.x;
  const float* p = probs + row * Tn;
  float* d = dp + row * Tn;
  float dot = 0.f;
  for (int64_t j = threadIdx.x; j < Tn; j += blockDim.x) dot += d[j] * p[j];
  dot = block_sum(dot);
  for (int64_t j = threadIdx.x; j < Tn; j += blockDim.x) d[j] = scale * p[j] * (d[j] - dot);
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, float* out, float* probs, int64_t BH,
                       int64_t Tn, int64_t D, bool causal, float scale) {
  if (BH * Tn == 0) return;
  DeviceBuffer scratch(probs ? 0 : sizeof(float) * BH * Tn * Tn);
  float* p = probs ? probs : scratch.as<float>();
  const int64_t tt = Tn * Tn, td = Tn * D;
  batched_gemm("attention_forward (q k^T)", false, true, Tn, Tn, D, 1.f, q, D, td, k, D, td, 0.f, p, Tn, tt, BH);
  attention_softmax_kernel<<<static_cast<unsigned>(BH * Tn), row_threads(Tn), 0, stream()>>>(p, Tn, causal, scale);
  MOE_CUDA_LAUNCHED("attention_forward (softmax)");
  batched_gemm("attention_forward (p v)", false, false, Tn, D, Tn, 1.f, p, Tn, tt, v, D, td, 0.f, out, D, td, BH);
}

void attention_backward(const float* q, const float* k, const float* v, const float* probs, const float* gout,
                        float* gq, float* gk, float* gv, int64_t BH, int64_t Tn, int64_t D, bool /*causal: in probs*/,
                        float scale) {
  if (BH * Tn == 0) return;
  const int64_t tt = Tn * Tn, td = Tn * D;
  DeviceBuffer ds(sizeof(float) * BH * tt);
  batched_gemm("attention_backward (dV = P^T dO)", true, false, Tn, D, Tn, 1.f, probs, Tn, tt, gout, D, td, 0.f, gv,
               D, td, BH);
  batched_gemm("attention_backward (dP = dO V^T)", false, true, Tn, Tn, D, 1.f, gout, D, td, v, D, td, 0.f,
               ds.as<float>(), Tn, tt, BH);
  attention_softmax_backward_kernel<<<static_cast<unsigned>(BH * Tn), row_threads(Tn), 0, stream()>>>(
      probs, ds.as<float>(), Tn, scale);
  MOE_CUDA_LAUNCHED("attention_backward (softmax)");
  batched_gemm("attention_backward (dQ = dS K)", false, false, Tn, D, Tn, 1.f, ds.as<float>(), Tn, tt, k, D, td, 0.f,
               gq, D, td, BH);
  batched_gemm("attention_backward (dK = dS^T Q)", true, false, Tn, D, Tn, 1.f, ds.as<float>(), Tn, tt, q, D, td,
               0.f, gk, D, td, BH);
}

}  // namespace moe::kernels::cuda
