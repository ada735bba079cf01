// kernels/cuda/elementwise.cu: unary/binary maps, strided copies and the sum/max
// reductions on the device; the formulas are those of kernels/ref/elementwise.cpp.
#include "moe/kernels/binary_op.h"
#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

__device__ inline float sigmoidf_stable(float x) {
  if (x >= 0.f) return 1.f / (1.f + expf(-x));
  const float e = expf(x);
  return e / (1.f + e);
}

__device__ inline float apply_unary(Unary op, float x, float p) {
  switch (op) {
    case Unary::neg: return -x;
    case Unary::exp: return expf(x);
    case Unary::log: return logf(x);
    case Unary::sqrt: return sqrtf(x);
    case Unary::tanh: return tanhf(x);
    case Unary::sigmoid: return sigmoidf_stable(x);
    case Unary::relu: return x > 0.f ? x : 0.f;
    case Unary::gelu: return 0.5f * x * (1.f + erff(x * float(M_SQRT1_2)));
    case Unary::silu: return x * sigmoidf_stable(x);
    case Unary::softplus: return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x)));
    case Unary::abs: return fabsf(x);
    case Unary::square: return x * x;
    case Unary::pow: return powf(x, p);
    case Unary::sign: return float((x > 0.f) - (x < 0.f));
    case Unary::step: return x > 0.f ? 1.f : 0.f;
    case Unary::normal_cdf: return 0.5f * (1.f + erff(x * float(M_SQRT1_2)));
  }
  return x;
}

__device__ inline float unary_derivative(Unary op, float x, float y, float p) {
  constexpr float kInvSqrt2Pi = 0.3989422804014327f;
  switch (op) {
    case Unary::neg: return -1.f;
    case Unary::exp: return y;
    case Unary::log: return 1.f / x;
    case Unary::sqrt: return 0.5f / y;
    case Unary::tanh: return 1.f - y * y;
    case Unary::sigmoid: return y * (1.f - y);
    case Unary::relu: return x > 0.f ? 1.f : 0.f;
    case Unary::gelu: {
      const float cdf = 0.5f * (1.f + erff(x * float(M_SQRT1_2)));
      return cdf + x * expf(-0.5f * x * x) * kInvSqrt2Pi;
    }
    case Unary::silu: {
      const float s = sigmoidf_stable(x);
      return s * (1.f + x * (1.f - s));
    }
    case Unary::softplus: return sigmoidf_stable(x);
    case Unary::abs: return float((x > 0.f) - (x < 0.f));
    case Unary::square: return 2.f * x;
    case Unary::pow: return p * powf(x, p - 1.f);
    case Unary::sign:
    case Unary::step: return 0.f;
    case Unary::normal_cdf: return expf(-0.5f * x * x) * kInvSqrt2Pi;
  }
  return 0.f;
}

__global__ void unary_kernel(Unary op, const float* x, float* y, int64_t n, float p) {
  MOE_GRID_STRIDE(i, n) y[i] = apply_unary(op, x[i], p);
}

__global__ void unary_backward_kernel(Unary op, const float* x, const float* y, const float* gy, float* gx, int64_t n,
                                      float p) {
  MOE_GRID_STRIDE(i, n) gx[i] = gy[i] * unary_derivative(op, x[i], y ? y[i] : 0.f, p);
}

__global__ void binary_kernel(Binary op, const float* a, const float* b, float* out, Strided g, int64_t n) {
  MOE_GRID_STRIDE(i, n) {
    int64_t oa, ob;
    strided_offsets(g, i, oa, ob);
    out[i] = apply_binary(op, a[oa], b[ob]);
  }
}

// dst is written at g.stride_b, src read at g.stride_a (as ref::copy_strided).
template <class T> __global__ void copy_strided_kernel(const T* src, T* dst, Strided g, int64_t n) {
  MOE_GRID_STRIDE(i, n) {
    int64_t os, od;
    strided_offsets(g, i, os, od);
    dst[od] = src[os];
  }
}

// One thread per (o, j), summing the n values in order in double (as ref::reduce_sum).
__global__ void reduce_sum_columns_kernel(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  MOE_GRID_STRIDE(idx, outer * inner) {
    const int64_t o = idx / inner, j = idx % inner;
    const float* px = x + o * n * inner + j;
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += px[i * inner];
    out[idx] = static_cast<float>(acc);
  }
}

// inner == 1: one block per row, a fixed-tree sum in double.
__global__ void reduce_sum_rows_kernel(const float* x, float* out, int64_t n) {
  const float* row = x + static_cast<int64_t>(blockIdx.x) * n;
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += row[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<float>(acc);
}

__global__ void reduce_max_kernel(const float* x, float* out, int64_t* argmax, int64_t outer, int64_t n,
                                  int64_t inner) {
  MOE_GRID_STRIDE(idx, outer * inner) {
    const int64_t o = idx / inner, j = idx % inner;
    const float* px = x + o * n * inner + j;
    float best = px[0];
    int64_t arg = 0;
    for (int64_t i = 1; i < n; ++i) {
      const float v = px[i * inner];
      if (v > best || (isnan(v) && !isnan(best))) best = v, arg = i;  // NaN wins, as in ref
    }
    out[idx] = best;
    if (argmax) argmax[idx] = arg;
  }
}

template <class T> void copy_strided_impl(const T* src, T* dst, const Strided& g) {
  const int64_t n = numel_of(g);
  if (n == 0) return;
  copy_strided_kernel<<<grid_for(n), kThreads, 0, stream()>>>(src, dst, g, n);
  MOE_CUDA_LAUNCHED("copy_strided");
}

}  // namespace

void unary(Unary op, const float* x, float* y, int64_t n, float param) {
  if (n == 0) return;
  unary_kernel<<<grid_for(n), kThreads, 0, stream()>>>(op, x, y, n, param);
  MOE_CUDA_LAUNCHED("unary");
}

void unary_backward(Unary op, const float* x, const float* y, const float* gy, float* gx, int64_t n, float param) {
  if (n == 0) return;
  unary_backward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(op, x, y, gy, gx, n, param);
  MOE_CUDA_LAUNCHED("unary_backward");
}

void binary(Binary op, const float* a, const float* b, float* out, const Strided& g) {
  const int64_t n = numel_of(g);
  if (n == 0) return;
  binary_kernel<<<grid_for(n), kThreads, 0, stream()>>>(op, a, b, out, g, n);
  MOE_CUDA_LAUNCHED("binary");
}

void copy_strided(const float* src, float* dst, const Strided& g) { copy_strided_impl(src, dst, g); }
void copy_strided(const int32_t* src, int32_t* dst, const Strided& g) { copy_strided_impl(src, dst, g); }
void copy_strided(const int64_t* src, int64_t* dst, const Strided& g) { copy_strided_impl(src, dst, g); }

void reduce_sum(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  if (outer * inner == 0) return;
  if (inner == 1 && outer < (int64_t(1) << 31)) {
    reduce_sum_rows_kernel<<<static_cast<unsigned>(outer), row_threads(n), 0, stream()>>>(x, out, n);
  } else {
    reduce_sum_columns_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(x, out, outer, n, inner);
  }
  MOE_CUDA_LAUNCHED("reduce_sum");
}

void reduce_max(const float* x, float* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner) {
  if (outer * inner == 0) return;
  reduce_max_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(x, out, argmax, outer, n, inner);
  MOE_CUDA_LAUNCHED("reduce_max");
}

}  // namespace moe::kernels::cuda
