// kernels/cuda/common.cuh: what every .cu kernel file shares: launch geometry, the
// strided-offset walk of kernels::Strided, and deterministic block reductions (a fixed
// tree for a fixed block size, so one input gives one result, run after run).
#pragma once
#include <algorithm>
#include <cstdint>

#include "moe/core/cuda/check.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cuda::detail {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items (capped: each thread loops over the rest).
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, int64_t(1) << 20)));
}

#define MOE_GRID_STRIDE(i, n)                                                                    \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);         \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// Offsets into a and b of output element `i` (contiguous output of shape g.shape).
__device__ inline void strided_offsets(const Strided& g, int64_t i, int64_t& off_a, int64_t& off_b) {
  off_a = off_b = 0;
  for (int d = g.ndim - 1; d >= 0; --d) {
    const int64_t idx = i % g.shape[d];
    i /= g.shape[d];
    off_a += idx * g.stride_a[d];
    off_b += idx * g.stride_b[d];
  }
}

inline int64_t numel_of(const Strided& g) {
  int64_t n = 1;
  for (int d = 0; d < g.ndim; ++d) n *= g.shape[d];
  return n;
}

template <class T> __device__ inline T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <class T> __device__ inline T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
template <class T> __device__ T block_sum(T v) {
  __shared__ T partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < warps ? partial[lane] : T(0);
  return warp_sum(v);
}
template <class T> __device__ T block_max(T v) {
  __shared__ T partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < warps ? partial[lane] : T(-INFINITY);
  return warp_max(v);
}

// Threads for a block-per-row kernel over rows of length n.
inline int row_threads(int64_t n) { return n >= 1024 ? 512 : n >= 256 ? 256 : n >= 64 ? 64 : 32; }

// Scratch device memory from the caching allocator, freed at scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t nbytes) : nbytes_(nbytes), ptr_(nbytes ? ::moe::cuda::device_alloc(nbytes) : nullptr) {}
  ~DeviceBuffer() { ::moe::cuda::device_free(ptr_, nbytes_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <class T> T* as() const { return static_cast<T*>(ptr_); }

 private:
  size_t nbytes_;
  void* ptr_;
};

}  // namespace moe::kernels::cuda::detail

namespace moe::kernels::cuda {
inline cudaStream_t stream() { return ::moe::cuda::stream(); }
}  // namespace moe::kernels::cuda
