// storage.cpp: Storage and the caching allocator. A freed block goes into the free list
// of its size class (up to a cap on the cached bytes) and the next request of that class
// takes it: no malloc, no fresh pages to fault in. Size classes: multiples of 64 bytes
// up to 4 KiB, then 8 classes per power of two (at most 12.5% rounding), so the
// varying expert-segment sizes of an MoE step still land on a few classes. Blocks of
// up to 4 KiB are carved from 256 KiB slabs and stay in their free lists for good
// (bounded by the most small tensors ever live at once); larger ones are aligned_alloc'd
// and cached up to kMaxCachedBytes. With the cache off, every block is aligned_alloc'd
// and freed, as before the cache existed.
// With MOE_CUDA, device memory comes from the caching allocator in core/cuda/.
#include "moe/core/storage.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "moe/core/error.h"

#include "moe/core/cuda/runtime.h"

namespace moe {

namespace {

// 64-byte alignment: one cache line, and what AVX-512 loads like.
constexpr size_t kAlign = 64;
// Freed bytes kept for reuse at most; beyond it blocks go back to the system.
constexpr int64_t kMaxCachedBytes = int64_t{512} << 20;
constexpr size_t kSmallBytes = 4096;
constexpr size_t kSlabBytes = size_t{256} << 10;

size_t size_class(size_t nbytes) {
  if (nbytes <= kSmallBytes) return nbytes == 0 ? kAlign : (nbytes + kAlign - 1) / kAlign * kAlign;
  int log2 = 63 - __builtin_clzll(nbytes);
  const size_t step = size_t{1} << (log2 - 3);
  return (nbytes + step - 1) / step * step;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // size class -> blocks
  StorageStats stats;
  bool enabled = true;
  char* slab = nullptr;  // the slab small blocks are carved from, and what is left of it
  size_t slab_left = 0;

  Cache() {
    if (const char* env = std::getenv("MOE_STORAGE_CACHE")) enabled = std::string(env) != "0";
  }
  // Returns the large cached blocks to the system (slab blocks stay).
  void release_locked() {
    for (auto& [bytes, blocks] : free_blocks) {
      if (bytes <= kSmallBytes) continue;
      for (void* p : blocks) std::free(p);
      stats.cached_bytes -= static_cast<int64_t>(bytes * blocks.size());
      blocks.clear();
    }
  }
  void* carve_locked(size_t bytes) {
    if (slab_left < bytes) {
      slab = static_cast<char*>(std::aligned_alloc(kAlign, kSlabBytes));
      if (!slab) throw std::bad_alloc();
      slab_left = kSlabBytes;
    }
    void* p = slab;
    slab += bytes;
    slab_left -= bytes;
    return p;
  }
};

// Never destroyed: tensors in static objects may be freed after main returns.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device == Device::CUDA) {
#ifdef MOE_CUDA
    data_ = cuda::device_alloc(nbytes);
    return;
#else
    throw Error("CUDA storage requested: CUDA backend not built (configure with -DMOE_CUDA=ON)");
#endif
  }
  block_bytes_ = size_class(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    ++c.stats.allocations;
    c.stats.live_bytes += static_cast<int64_t>(nbytes);
    if (c.stats.live_bytes > c.stats.peak_bytes) c.stats.peak_bytes = c.stats.live_bytes;
    auto it = c.free_blocks.find(block_bytes_);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      data_ = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= static_cast<int64_t>(block_bytes_);
      ++c.stats.cache_hits;
      from_slab_ = block_bytes_ <= kSmallBytes;
      return;
    }
    if (c.enabled && block_bytes_ <= kSmallBytes) {
      data_ = c.carve_locked(block_bytes_);
      from_slab_ = true;
      return;
    }
  }
  data_ = std::aligned_alloc(kAlign, block_bytes_);
  if (!data_) throw std::bad_alloc();
}

Storage::~Storage() {
#ifdef MOE_CUDA
  if (device_ == Device::CUDA) {
    cuda::device_free(data_, nbytes_);
    return;
  }
#endif
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.live_bytes -= static_cast<int64_t>(nbytes_);
  if (from_slab_ || (c.enabled && c.stats.cached_bytes + static_cast<int64_t>(block_bytes_) <= kMaxCachedBytes)) {
    c.free_blocks[block_bytes_].push_back(data_);
    c.stats.cached_bytes += static_cast<int64_t>(block_bytes_);
  } else {
    std::free(data_);
  }
}

const char* malloc_name() {
#ifdef MOE_JEMALLOC
  return "jemalloc";
#else
  return "glibc";
#endif
}

StorageStats storage_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void reset_peak_storage_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.peak_bytes = c.stats.live_bytes;
}

void release_cached_storage() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.release_locked();
}

void set_storage_cache_enabled(bool enabled) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.enabled = enabled;
  if (!enabled) c.release_locked();
}

bool storage_cache_enabled() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.enabled;
}

}  // namespace moe
