// storage.h: a block of device memory shared by a tensor and its views, and the
// caching allocator behind it (storage.cpp): freed CPU blocks are kept in size classes
// and handed to the next request of the same class, because a training step asks for
// the same sizes every step and fresh large blocks cost page faults; small blocks are
// carved from slabs, because many small 64-byte-aligned mallocs fragment glibc's heap
// (its consolidation was most of the per-op cost of tiny ops, BENCHMARKS.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "moe/core/dtype.h"

namespace moe {

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  size_t block_bytes_ = 0;  // the size class actually held (>= nbytes_)
  bool from_slab_ = false;  // a small block carved from a slab (never returned to the system)
  Device device_ = Device::CPU;
};

// Tensor memory accounting (bytes as requested, before rounding to a size class).
struct StorageStats {
  int64_t live_bytes = 0;    // held by live Storage objects now
  int64_t peak_bytes = 0;    // highest live_bytes since start or the last reset
  int64_t cached_bytes = 0;  // freed blocks kept for reuse (size-class bytes)
  int64_t allocations = 0;   // Storage objects made
  int64_t cache_hits = 0;    // of which served from the cache
};
StorageStats storage_stats();
void reset_peak_storage_bytes();
// Returns every cached block to the system.
void release_cached_storage();
// Turns the cache on or off (on by default; MOE_STORAGE_CACHE=0 turns it off at start).
// Turning it off releases the cached blocks. For benchmarks comparing the two.
void set_storage_cache_enabled(bool enabled);
bool storage_cache_enabled();
// The process's malloc for everything else (tensor and node objects, shapes, closures):
// "jemalloc" when built with MOE_JEMALLOC (the default), else "glibc".
const char* malloc_name();

}  // namespace moe
