// core/cuda/check.h: checked CUDA and cuBLAS calls and the process's one stream and
// cuBLAS handle, for the .cu kernels and core/cuda/*.cpp (includes the CUDA headers).
// Every CUDA call goes through MOE_CUDA_CHECK(expr, "op"), which throws moe::Error
// naming the op and cudaGetErrorString; every launch is followed by MOE_CUDA_LAUNCHED.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "moe/core/cuda/runtime.h"

#define MOE_CUDA_CHECK(expr, op)                                                   \
  do {                                                                             \
    cudaError_t moe_cuda_err_ = (expr);                                            \
    if (moe_cuda_err_ != cudaSuccess)                                              \
      ::moe::cuda::fail(op, cudaGetErrorString(moe_cuda_err_), __FILE__, __LINE__); \
  } while (0)

#define MOE_CUBLAS_CHECK(expr, op)                                                         \
  do {                                                                                     \
    cublasStatus_t moe_cublas_st_ = (expr);                                                \
    if (moe_cublas_st_ != CUBLAS_STATUS_SUCCESS)                                           \
      ::moe::cuda::fail(op, cublasGetStatusString(moe_cublas_st_), __FILE__, __LINE__);    \
  } while (0)

// After a kernel launch: launch-configuration errors now; with MOE_CUDA_SYNC=1 in the
// environment, also a synchronise so an execution error names the kernel that made it.
#define MOE_CUDA_LAUNCHED(op) ::moe::cuda::after_launch(op, __FILE__, __LINE__)

namespace moe::cuda {

cudaStream_t stream();         // the one stream every kernel and copy runs on
cublasHandle_t cublas();       // bound to stream(), created on first use
void after_launch(const char* op, const char* file, int line);

}  // namespace moe::cuda
