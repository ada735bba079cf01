#include "moe/core/storage.h"

#include <cstdlib>
#include <new>

namespace moe {

// 64-byte alignment: one cache line, and what AVX-512 loads like.
static constexpr size_t kAlign = 64;

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  MOE_CHECK(device == Device::CPU, "CUDA storage requested but this build has no CUDA backend");
  size_t rounded = (nbytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  data_ = std::aligned_alloc(kAlign, rounded);
  if (!data_) throw std::bad_alloc();
}

Storage::~Storage() { std::free(data_); }

}  // namespace moe
