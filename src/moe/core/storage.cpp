// storage.cpp: host memory (64-byte aligned) or, with MOE_CUDA, device memory from the
// caching allocator in core/cuda/.
#include "moe/core/storage.h"

#include <cstdlib>
#include <new>

#include "moe/core/cuda/runtime.h"

namespace moe {

// 64-byte alignment: one cache line, and what AVX-512 loads like.
static constexpr size_t kAlign = 64;

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device == Device::CUDA) {
#ifdef MOE_CUDA
    data_ = cuda::device_alloc(nbytes);
    return;
#else
    throw Error("CUDA storage requested: CUDA backend not built (configure with -DMOE_CUDA=ON)");
#endif
  }
  size_t rounded = (nbytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  data_ = std::aligned_alloc(kAlign, rounded);
  if (!data_) throw std::bad_alloc();
}

Storage::~Storage() {
#ifdef MOE_CUDA
  if (device_ == Device::CUDA) {
    cuda::device_free(data_, nbytes_);
    return;
  }
#endif
  std::free(data_);
}

}  // namespace moe
