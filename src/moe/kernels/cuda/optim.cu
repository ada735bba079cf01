// kernels/cuda/optim.cu: SGD and Adam/AdamW updates, the gradient norm, in-place scaling
// and the finiteness check on the device (formulas in kernels/ref/optim.cpp). The sum of
// squares is two passes with a fixed grid (per-block double partials, then one block),
// so it is the same on every run.
#include <cmath>

#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

constexpr int kReduceBlocks = 256;

__global__ void sgd_kernel(float* p, const float* g, float* buf, int64_t n, float lr, float mu, float wd,
                           bool nesterov) {
  MOE_GRID_STRIDE(i, n) {
    float d = g[i];
    if (wd != 0.f) d += wd * p[i];
    if (mu != 0.f) {
      buf[i] = mu * buf[i] + d;
      d = nesterov ? d + mu * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
}

// torch.optim's order of operations (see ref::adam_update).
__global__ void adam_kernel(float* p, const float* g, float* m, float* v, int64_t n, float step_size, float bc2_sqrt,
                            float b1, float b2, float one_minus_b1, float one_minus_b2, float eps, float wd,
                            float decay_factor, bool decoupled, bool l2) {
  MOE_GRID_STRIDE(i, n) {
    float gi = g[i];
    float pi = p[i];
    if (decoupled) pi *= decay_factor;
    if (l2) gi += wd * pi;
    const float mi = b1 * m[i] + one_minus_b1 * gi;
    const float vi = b2 * v[i] + one_minus_b2 * gi * gi;
    m[i] = mi, v[i] = vi;
    p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}

__global__ void sum_squares_partial_kernel(const float* x, int64_t n, double* partial) {
  double acc = 0;
  MOE_GRID_STRIDE(i, n) acc += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void sum_partials_kernel(const double* partial, int count, double* out) {
  double acc = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) *out = acc;
}

__global__ void scale_kernel(float* x, int64_t n, float s) {
  MOE_GRID_STRIDE(i, n) x[i] *= s;
}

__global__ void nonfinite_kernel(const float* x, int64_t n, int* found) {
  MOE_GRID_STRIDE(i, n) if (!isfinite(x[i])) *found = 1;  // every writer stores the same 1
}

}  // namespace

void sgd_update(float* p, const float* g, float* momentum_buf, int64_t n, const SgdHyper& h) {
  if (n == 0) return;
  sgd_kernel<<<grid_for(n), kThreads, 0, stream()>>>(p, g, momentum_buf, n, float(h.lr), float(h.momentum),
                                                      float(h.weight_decay), h.nesterov);
  MOE_CUDA_LAUNCHED("sgd_update");
}

void adam_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamHyper& h) {
  if (n == 0) return;
  const double bias_correction1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bias_correction2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  const bool decoupled = h.decoupled_weight_decay && h.weight_decay != 0.0;
  const bool l2 = !h.decoupled_weight_decay && h.weight_decay != 0.0;
  adam_kernel<<<grid_for(n), kThreads, 0, stream()>>>(
      p, g, m, v, n, float(h.lr / bias_correction1), float(std::sqrt(bias_correction2)), float(h.beta1),
      float(h.beta2), float(1.0 - h.beta1), float(1.0 - h.beta2), float(h.eps), float(h.weight_decay),
      float(1.0 - h.lr * h.weight_decay), decoupled, l2);
  MOE_CUDA_LAUNCHED("adam_update");
}

double sum_squares(const float* x, int64_t n) {
  if (n == 0) return 0.0;
  DeviceBuffer partial((kReduceBlocks + 1) * sizeof(double));
  sum_squares_partial_kernel<<<kReduceBlocks, kThreads, 0, stream()>>>(x, n, partial.as<double>());
  MOE_CUDA_LAUNCHED("sum_squares");
  sum_partials_kernel<<<1, kThreads, 0, stream()>>>(partial.as<double>(), kReduceBlocks,
                                                    partial.as<double>() + kReduceBlocks);
  MOE_CUDA_LAUNCHED("sum_squares (final)");
  double out = 0;
  ::moe::cuda::copy_device_to_host(&out, partial.as<double>() + kReduceBlocks, sizeof(double), "sum_squares");
  return out;
}

void scale_inplace(float* x, int64_t n, float s) {
  if (n == 0) return;
  scale_kernel<<<grid_for(n), kThreads, 0, stream()>>>(x, n, s);
  MOE_CUDA_LAUNCHED("scale_inplace");
}

bool all_finite(const float* x, int64_t n) {
  if (n == 0) return true;
  DeviceBuffer flag(sizeof(int));
  ::moe::cuda::memset_device(flag.as<int>(), 0, sizeof(int), "all_finite");
  nonfinite_kernel<<<grid_for(n), kThreads, 0, stream()>>>(x, n, flag.as<int>());
  MOE_CUDA_LAUNCHED("all_finite");
  int found = 0;
  ::moe::cuda::copy_device_to_host(&found, flag.as<int>(), sizeof(int), "all_finite");
  return found == 0;
}

}  // namespace moe::kernels::cuda
