// The caching allocator behind Storage: freed blocks are reused by requests of the same
// size class, live and peak bytes are counted as requested, reused memory is not
// zeroed behind the caller's back (Tensor::zeros still fills), and turning the cache off
// releases its large blocks.
#include "moe/core/storage.h"
#include "test_util.h"

using namespace moe;

TEST(StorageCache, ReusesFreedBlocksOfTheSameClass) {
  set_storage_cache_enabled(true);
  release_cached_storage();
  const StorageStats s0 = storage_stats();
  void* first = nullptr;
  {
    Tensor a = Tensor::empty({1000});
    first = a.raw_data();
  }
  EXPECT_GE(storage_stats().cached_bytes, 4000);
  {
    Tensor b = Tensor::empty({999});  // 3996 bytes: the same 64-byte class as 4000
    EXPECT_EQ(b.raw_data(), first);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.raw_data()) % 64, 0u);
  }
  const StorageStats s1 = storage_stats();
  EXPECT_EQ(s1.allocations - s0.allocations, 2);
  EXPECT_EQ(s1.cache_hits - s0.cache_hits, 1);
  {
    Tensor z = Tensor::zeros({1000});  // takes the block back, filled with zeros
    for (float v : z.to_vector<float>()) ASSERT_EQ(v, 0.0f);
  }
  // Large sizes round to 8 classes per power of two: 100000 and 101000 floats share one.
  { Tensor big = Tensor::empty({100000}); }
  const int64_t hits = storage_stats().cache_hits;
  { Tensor big2 = Tensor::empty({101000}); }
  EXPECT_EQ(storage_stats().cache_hits, hits + 1);
}

TEST(StorageCache, CountsLiveAndPeakBytes) {
  const int64_t live0 = storage_stats().live_bytes;
  reset_peak_storage_bytes();
  {
    Tensor a = Tensor::empty({256});
    Tensor b = Tensor::empty({128}, DType::f64);
    EXPECT_EQ(storage_stats().live_bytes - live0, 256 * 4 + 128 * 8);
  }
  EXPECT_EQ(storage_stats().live_bytes, live0);
  EXPECT_EQ(storage_stats().peak_bytes - live0, 256 * 4 + 128 * 8);
  reset_peak_storage_bytes();
  EXPECT_EQ(storage_stats().peak_bytes, live0);
}

TEST(StorageCache, OffReleasesAndStopsCaching) {
  set_storage_cache_enabled(true);
  { Tensor a = Tensor::empty({5000}); }  // 20000 bytes: a large class (small ones stay in their slabs)
  const int64_t cached_on = storage_stats().cached_bytes;
  EXPECT_GE(cached_on, 20000);
  set_storage_cache_enabled(false);
  EXPECT_FALSE(storage_cache_enabled());
  const int64_t cached_off = storage_stats().cached_bytes;
  EXPECT_LE(cached_off, cached_on - 20000);  // the large block went back to the system
  { Tensor a = Tensor::empty({5000}); }
  EXPECT_EQ(storage_stats().cached_bytes, cached_off);  // and the next one is not kept
  set_storage_cache_enabled(true);
}
