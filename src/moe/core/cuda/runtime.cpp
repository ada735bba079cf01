// core/cuda/runtime.cpp: device discovery, the one stream and cuBLAS handle, checked
// copies and the error path of the check macros (built only with MOE_CUDA).
#include <cstdlib>
#include <fmt/format.h>

#include "moe/core/cuda/check.h"
#include "moe/core/error.h"

namespace moe::cuda {

void fail(const char* op, const char* what, const char* file, int line) {
  throw Error(fmt::format("{}: CUDA error: {} ({}:{})", op, what, file, line));
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no driver" error so later calls report their own
    return 0;
  }
  return n;
}

void require_device(const char* what) {
  MOE_CHECK(device_count() > 0, "{}: no CUDA device available ({})", what, device_description());
}

std::string device_description() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return fmt::format("cudaGetDeviceCount: {}", cudaGetErrorString(err));
  }
  if (n == 0) return "no CUDA device";
  cudaDeviceProp prop{};
  MOE_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0), "device_description");
  return fmt::format("{} (sm_{}{}, {} SMs, {:.1f} GiB)", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                     static_cast<double>(prop.totalGlobalMem) / (1 << 30));
}

cudaStream_t stream() {
  // Created on first use and never destroyed: a static destructor would run after the
  // driver has begun shutting down.
  static cudaStream_t s = [] {
    require_device("cuda stream");
    cudaStream_t created = nullptr;
    MOE_CUDA_CHECK(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking), "cudaStreamCreate");
    return created;
  }();
  return s;
}

cublasHandle_t cublas() {
  static cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    MOE_CUBLAS_CHECK(cublasCreate(&created), "cublasCreate");
    MOE_CUBLAS_CHECK(cublasSetStream(created, stream()), "cublasSetStream");
    // Plain fp32 GEMMs stay fp32 (no silent TF32): the fp32 tests compare near 1e-6.
    MOE_CUBLAS_CHECK(cublasSetMathMode(created, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    return created;
  }();
  return h;
}

void after_launch(const char* op, const char* file, int line) {
  static const bool sync_each = [] {
    const char* e = std::getenv("MOE_CUDA_SYNC");
    return e && e[0] == '1';
  }();
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && sync_each) err = cudaStreamSynchronize(stream());
  if (err != cudaSuccess) fail(op, cudaGetErrorString(err), file, line);
}

void copy_host_to_device(void* dst, const void* src, size_t nbytes, const char* op) {
  if (nbytes == 0) return;
  MOE_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream()), op);
  MOE_CUDA_CHECK(cudaStreamSynchronize(stream()), op);  // the host buffer may go away on return
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes, const char* op) {
  if (nbytes == 0) return;
  MOE_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, stream()), op);
  MOE_CUDA_CHECK(cudaStreamSynchronize(stream()), op);
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes, const char* op) {
  if (nbytes == 0) return;
  MOE_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, stream()), op);
}

void memset_device(void* dst, int value, size_t nbytes, const char* op) {
  if (nbytes == 0) return;
  MOE_CUDA_CHECK(cudaMemsetAsync(dst, value, nbytes, stream()), op);
}

void synchronize(const char* op) { MOE_CUDA_CHECK(cudaStreamSynchronize(stream()), op); }

}  // namespace moe::cuda
