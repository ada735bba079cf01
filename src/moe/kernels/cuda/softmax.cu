// kernels/cuda/softmax.cu: softmax / log_softmax over contiguous rows with their
// backward, and the fused softmax cross-entropy: one block per row, the row max taken
// first so no exp overflows (formulas as in kernels/ref/softmax.cpp).
#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

__device__ float row_max(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, x[j]);
  return block_max(m);
}

__device__ float row_sum_exp_shifted(const float* x, int64_t n, float m) {
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += expf(x[j] - m);
  return block_sum(s);
}

__global__ void softmax_kernel(const float* x, float* y, int64_t n, bool log_space) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * n;
  float* yr = y + r * n;
  const float m = row_max(xr, n);
  const float s = row_sum_exp_shifted(xr, n, m);
  if (log_space) {
    const float log_s = logf(s);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = (xr[j] - m) - log_s;
  } else {
    const float inv = 1.f / s;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = expf(xr[j] - m) * inv;
  }
}

__global__ void softmax_backward_kernel(const float* y, const float* gy, float* gx, int64_t n, bool log_space) {
  const int64_t r = blockIdx.x;
  const float* yr = y + r * n;
  const float* gr = gy + r * n;
  float* gxr = gx + r * n;
  float acc = 0.f;  // softmax: sum(gy * y); log_softmax: sum(gy)
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) acc += log_space ? gr[j] : gr[j] * yr[j];
  acc = block_sum(acc);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
    gxr[j] = log_space ? gr[j] - expf(yr[j]) * acc : yr[j] * (gr[j] - acc);
}

__global__ void cross_entropy_kernel(const float* logits, const int64_t* target, float* loss, float* lse,
                                     int64_t classes, int64_t ignore_index) {
  const int64_t r = blockIdx.x;
  const int64_t t = target[r];
  if (t == ignore_index) {
    if (threadIdx.x == 0) loss[r] = 0.f, lse[r] = 0.f;
    return;
  }
  const float* xr = logits + r * classes;
  const float m = row_max(xr, classes);
  const float log_s = logf(row_sum_exp_shifted(xr, classes, m));
  if (threadIdx.x == 0) {
    lse[r] = m + log_s;
    loss[r] = (m - xr[t]) + log_s;
  }
}

__global__ void cross_entropy_backward_kernel(const float* logits, const int64_t* target, const float* lse,
                                              float scale, float* glogits, int64_t classes, int64_t ignore_index) {
  const int64_t r = blockIdx.x;
  const int64_t t = target[r];
  float* gr = glogits + r * classes;
  const float* xr = logits + r * classes;
  const bool ignored = t == ignore_index;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x)
    gr[j] = ignored ? 0.f : expf(xr[j] - lse[r]) * scale - (j == t ? scale : 0.f);
}

}  // namespace

void softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  if (rows == 0) return;
  softmax_kernel<<<static_cast<unsigned>(rows), row_threads(n), 0, stream()>>>(x, y, n, false);
  MOE_CUDA_LAUNCHED("softmax_rows");
}

void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  if (rows == 0) return;
  softmax_kernel<<<static_cast<unsigned>(rows), row_threads(n), 0, stream()>>>(x, y, n, true);
  MOE_CUDA_LAUNCHED("log_softmax_rows");
}

void softmax_backward_rows(const float* y, const float* gy, float* gx, int64_t rows, int64_t n) {
  if (rows == 0) return;
  softmax_backward_kernel<<<static_cast<unsigned>(rows), row_threads(n), 0, stream()>>>(y, gy, gx, n, false);
  MOE_CUDA_LAUNCHED("softmax_backward_rows");
}

void log_softmax_backward_rows(const float* y, const float* gy, float* gx, int64_t rows, int64_t n) {
  if (rows == 0) return;
  softmax_backward_kernel<<<static_cast<unsigned>(rows), row_threads(n), 0, stream()>>>(y, gy, gx, n, true);
  MOE_CUDA_LAUNCHED("log_softmax_backward_rows");
}

void cross_entropy_rows(const float* logits, const int64_t* target, float* loss, float* lse, int64_t rows,
                        int64_t classes, int64_t ignore_index) {
  if (rows == 0) return;
  cross_entropy_kernel<<<static_cast<unsigned>(rows), row_threads(classes), 0, stream()>>>(logits, target, loss, lse,
                                                                                          classes, ignore_index);
  MOE_CUDA_LAUNCHED("cross_entropy_rows");
}

void cross_entropy_backward_rows(const float* logits, const int64_t* target, const float* lse, float scale,
                                 float* glogits, int64_t rows, int64_t classes, int64_t ignore_index) {
  if (rows == 0) return;
  cross_entropy_backward_kernel<<<static_cast<unsigned>(rows), row_threads(classes), 0, stream()>>>(
      logits, target, lse, scale, glogits, classes, ignore_index);
  MOE_CUDA_LAUNCHED("cross_entropy_backward_rows");
}

}  // namespace moe::kernels::cuda
