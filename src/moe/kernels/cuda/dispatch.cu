// kernels/cuda/dispatch.cu: the MoE row gather and the ordered weighted combine with its
// backward (specs in kernels/ref/dispatch.cpp). The combine gives each thread one
// (token, column) and adds the token's positions in plan order: no atomics.
#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

__global__ void gather_rows_kernel(const float* x, const int64_t* rows, int64_t D, float* out, int64_t total) {
  MOE_GRID_STRIDE(i, total) out[i] = x[rows[i / D] * D + i % D];
}

__global__ void combine_rows_kernel(const float* ys, const float* w, const int64_t* off, const int64_t* pos,
                                    int64_t D, float* out, int64_t total) {
  MOE_GRID_STRIDE(i, total) {
    const int64_t t = i / D, j = i % D;
    float acc = 0.f;
    for (int64_t q = off[t]; q < off[t + 1]; ++q) {
      const int64_t p = pos[q];
      acc += (w ? w[p] : 1.f) * ys[p * D + j];
    }
    out[i] = acc;
  }
}

__global__ void combine_backward_dys_kernel(const float* g, const float* w, const int64_t* token, int64_t D,
                                            float* dys, int64_t total) {
  MOE_GRID_STRIDE(i, total) {
    const int64_t p = i / D;
    dys[i] = (w ? w[p] : 1.f) * g[token[p] * D + i % D];
  }
}

// One block per position: dw[p] = <g[token[p]], ys[p]> by a fixed-tree block sum.
__global__ void combine_backward_dw_kernel(const float* g, const float* ys, const int64_t* token, int64_t D,
                                           float* dw) {
  const int64_t p = blockIdx.x;
  const float* gt = g + token[p] * D;
  const float* y = ys + p * D;
  float acc = 0.f;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) acc += gt[j] * y[j];
  acc = block_sum(acc);
  if (threadIdx.x == 0) dw[p] = acc;
}

}  // namespace

void gather_rows(const float* x, const int64_t* rows, int64_t A, int64_t D, float* out) {
  if (A * D == 0) return;
  gather_rows_kernel<<<grid_for(A * D), kThreads, 0, stream()>>>(x, rows, D, out, A * D);
  MOE_CUDA_LAUNCHED("gather_rows");
}

void combine_rows(const float* ys, const float* w, const int64_t* off, const int64_t* pos, int64_t N, int64_t D,
                  float* out) {
  if (N * D == 0) return;
  combine_rows_kernel<<<grid_for(N * D), kThreads, 0, stream()>>>(ys, w, off, pos, D, out, N * D);
  MOE_CUDA_LAUNCHED("combine_rows");
}

void combine_backward(const float* g, const float* ys, const float* w, const int64_t* token, int64_t A, int64_t D,
                      float* dys, float* dw) {
  if (A == 0) return;
  if (dys && D > 0) {
    combine_backward_dys_kernel<<<grid_for(A * D), kThreads, 0, stream()>>>(g, w, token, D, dys, A * D);
    MOE_CUDA_LAUNCHED("combine_backward (dys)");
  }
  if (dw) {
    combine_backward_dw_kernel<<<static_cast<unsigned>(A), row_threads(D), 0, stream()>>>(g, ys, token, D, dw);
    MOE_CUDA_LAUNCHED("combine_backward (dw)");
  }
}

}  // namespace moe::kernels::cuda
