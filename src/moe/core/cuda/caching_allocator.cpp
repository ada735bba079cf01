// core/cuda/caching_allocator.cpp: device memory for Storage on Device::CUDA. Requests
// are rounded to size classes (512 B steps up to 1 MiB, 2 MiB steps above); a freed block
// goes onto its class's free list and the next request of that class takes it, so a
// training step after the first calls cudaMalloc never. Plain cudaMalloc (no managed
// memory). All work runs on one stream, so a block freed on the host while kernels that
// use it are still queued can be handed out again: the next user is queued after them.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "moe/core/cuda/check.h"

namespace moe::cuda {

namespace {

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // size class -> blocks
  AllocatorStats stats;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed (see stream() in runtime.cpp)
  return *c;
}

// Returns every cached block to the driver; the caller holds the mutex.
void release_cached(Cache& c) {
  for (auto& [size, blocks] : c.free_blocks)
    for (void* p : blocks) MOE_CUDA_CHECK(cudaFree(p), "cuda allocator: cudaFree");
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

}  // namespace

size_t allocation_size_class(size_t nbytes) {
  constexpr size_t kSmallStep = 512, kLargeStep = size_t(2) << 20, kSmallLimit = size_t(1) << 20;
  if (nbytes == 0) nbytes = 1;
  const size_t step = nbytes <= kSmallLimit ? kSmallStep : kLargeStep;
  return (nbytes + step - 1) / step * step;
}

void* device_alloc(size_t nbytes) {
  const size_t size = allocation_size_class(nbytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.free_blocks.find(size);
  void* p = nullptr;
  if (it != c.free_blocks.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    c.stats.cached_bytes -= size;
    ++c.stats.cache_hits;
  } else {
    require_device("cuda allocator");
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {  // give the cache back to the driver and try once more
      (void)cudaGetLastError();
      release_cached(c);
      err = cudaMalloc(&p, size);
    }
    MOE_CUDA_CHECK(err, "cuda allocator: cudaMalloc");
    ++c.stats.cuda_mallocs;
  }
  c.stats.live_bytes += size;
  if (c.stats.live_bytes > c.stats.peak_bytes) c.stats.peak_bytes = c.stats.live_bytes;
  return p;
}

void device_free(void* ptr, size_t nbytes) {
  if (!ptr) return;
  const size_t size = allocation_size_class(nbytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.free_blocks[size].push_back(ptr);
  c.stats.live_bytes -= size;
  c.stats.cached_bytes += size;
  ++c.stats.frees;
}

AllocatorStats allocator_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  release_cached(c);
}

}  // namespace moe::cuda
