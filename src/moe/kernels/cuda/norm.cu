// kernels/cuda/norm.cu: layer norm (Ba et al. 2016) and RMS norm (Zhang & Sennrich 2019)
// over the last dim, forward and backward (formulas in kernels/ref/norm.cpp). One block
// per row for y and dx; the weight/bias gradients are column sums, one thread per column
// summing the rows in order, so they are deterministic without atomics.
#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

__global__ void layer_norm_kernel(const float* x, const float* weight, const float* bias, float* y, float* mean,
                                  float* rstd, int64_t C, float eps) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * C;
  float* yr = y + r * C;
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) s += xr[j];
  const float m = block_sum(s) / float(C);
  float v = 0.f;  // the variance around the mean: no E[x^2] - E[x]^2 cancellation
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) v += (xr[j] - m) * (xr[j] - m);
  const float rs = rsqrtf(block_sum(v) / float(C) + eps);
  if (threadIdx.x == 0) mean[r] = m, rstd[r] = rs;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    float o = (xr[j] - m) * rs;
    if (weight) o *= weight[j];
    if (bias) o += bias[j];
    yr[j] = o;
  }
}

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = gy * weight.
__global__ void layer_norm_backward_kernel(const float* x, const float* weight, const float* mean, const float* rstd,
                                           const float* gy, float* gx, int64_t C) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * C;
  const float* gr = gy + r * C;
  float* gxr = gx + r * C;
  const float m = mean[r], rs = rstd[r];
  float sum_dxhat = 0.f, sum_dxhat_xhat = 0.f;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    const float xhat = (xr[j] - m) * rs, dxhat = weight ? gr[j] * weight[j] : gr[j];
    sum_dxhat += dxhat;
    sum_dxhat_xhat += dxhat * xhat;
  }
  const float mean_dxhat = block_sum(sum_dxhat) / float(C);
  const float mean_dxhat_xhat = block_sum(sum_dxhat_xhat) / float(C);
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    const float xhat = (xr[j] - m) * rs, dxhat = weight ? gr[j] * weight[j] : gr[j];
    gxr[j] = rs * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
  }
}

// gweight[j] = sum_r gy[r, j] * xhat[r, j]; gbias[j] = sum_r gy[r, j]; mean null: RMS norm.
__global__ void norm_param_grad_kernel(const float* x, const float* mean, const float* rstd, const float* gy,
                                       float* gweight, float* gbias, int64_t rows, int64_t C) {
  MOE_GRID_STRIDE(j, C) {
    float gw = 0.f, gb = 0.f;
    for (int64_t r = 0; r < rows; ++r) {
      const float g = gy[r * C + j];
      const float xhat = (x[r * C + j] - (mean ? mean[r] : 0.f)) * rstd[r];
      gw += g * xhat;
      gb += g;
    }
    if (gweight) gweight[j] = gw;
    if (gbias) gbias[j] = gb;
  }
}

__global__ void rms_norm_kernel(const float* x, const float* weight, float* y, float* rstd, int64_t C, float eps) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * C;
  float* yr = y + r * C;
  float ms = 0.f;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) ms += xr[j] * xr[j];
  const float rs = rsqrtf(block_sum(ms) / float(C) + eps);
  if (threadIdx.x == 0) rstd[r] = rs;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) yr[j] = weight ? xr[j] * rs * weight[j] : xr[j] * rs;
}

// dx = rstd * (dxhat - xhat * mean(dxhat * xhat)), xhat = x * rstd, dxhat = gy * weight.
__global__ void rms_norm_backward_kernel(const float* x, const float* weight, const float* rstd, const float* gy,
                                         float* gx, int64_t C) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * C;
  const float* gr = gy + r * C;
  float* gxr = gx + r * C;
  const float rs = rstd[r];
  float acc = 0.f;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) acc += (weight ? gr[j] * weight[j] : gr[j]) * xr[j] * rs;
  const float mean_dxhat_xhat = block_sum(acc) / float(C);
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    const float dxhat = weight ? gr[j] * weight[j] : gr[j];
    gxr[j] = rs * (dxhat - xr[j] * rs * mean_dxhat_xhat);
  }
}

}  // namespace

void layer_norm_rows(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                     int64_t rows, int64_t C, float eps) {
  if (rows == 0) return;
  layer_norm_kernel<<<static_cast<unsigned>(rows), row_threads(C), 0, stream()>>>(x, weight, bias, y, mean, rstd, C,
                                                                                 eps);
  MOE_CUDA_LAUNCHED("layer_norm_rows");
}

void layer_norm_backward_rows(const float* x, const float* weight, const float* mean, const float* rstd,
                              const float* gy, float* gx, float* gweight, float* gbias, int64_t rows, int64_t C) {
  if (rows > 0) {
    layer_norm_backward_kernel<<<static_cast<unsigned>(rows), row_threads(C), 0, stream()>>>(x, weight, mean, rstd,
                                                                                            gy, gx, C);
    MOE_CUDA_LAUNCHED("layer_norm_backward_rows");
  }
  if (gweight || gbias) {
    norm_param_grad_kernel<<<grid_for(C), kThreads, 0, stream()>>>(x, mean, rstd, gy, gweight, gbias, rows, C);
    MOE_CUDA_LAUNCHED("layer_norm_backward_rows (weight grad)");
  }
}

void rms_norm_rows(const float* x, const float* weight, float* y, float* rstd, int64_t rows, int64_t C, float eps) {
  if (rows == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(rows), row_threads(C), 0, stream()>>>(x, weight, y, rstd, C, eps);
  MOE_CUDA_LAUNCHED("rms_norm_rows");
}

void rms_norm_backward_rows(const float* x, const float* weight, const float* rstd, const float* gy, float* gx,
                            float* gweight, int64_t rows, int64_t C) {
  if (rows > 0) {
    rms_norm_backward_kernel<<<static_cast<unsigned>(rows), row_threads(C), 0, stream()>>>(x, weight, rstd, gy, gx, C);
    MOE_CUDA_LAUNCHED("rms_norm_backward_rows");
  }
  if (gweight) {
    norm_param_grad_kernel<<<grid_for(C), kThreads, 0, stream()>>>(x, nullptr, rstd, gy, gweight, nullptr, rows, C);
    MOE_CUDA_LAUNCHED("rms_norm_backward_rows (weight grad)");
  }
}

}  // namespace moe::kernels::cuda
