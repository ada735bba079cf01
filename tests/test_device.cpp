// test_device.cpp: to_device() and device storage in every build: without
// MOE_CUDA the CUDA device is refused with "CUDA backend not built"; with it, and no
// GPU, with "no CUDA device"; with a GPU, host <-> device round trips, the caching
// allocator's reuse and stats, fill_/copy_/contiguous on the device and the explicit-copy
// rule (no hidden copies between devices).
#include <gtest/gtest.h>

#include "moe/core/cuda/runtime.h"
#include "moe/ops/to_device.h"
#include "test_util.h"

namespace moe {
namespace {

bool have_gpu() {
#ifdef MOE_CUDA
  return cuda::device_count() > 0;
#else
  return false;
#endif
}

TEST(Device, ToCudaWithoutAGpuIsAClearError) {
  if (have_gpu()) GTEST_SKIP() << "a CUDA device is visible: the error paths do not apply";
  Tensor x = Tensor::ones({2, 3});
#ifdef MOE_CUDA
  test::expect_error([&] { to_device(x, Device::CUDA); }, {"no CUDA device"});
#else
  test::expect_error([&] { to_device(x, Device::CUDA); }, {"to_device(cuda)", "CUDA backend not built", "float32[2, 3]"});
  test::expect_error([&] { Tensor::empty({4}, DType::f32, Device::CUDA); }, {"CUDA backend not built"});
#endif
  EXPECT_TRUE(to_device(x, Device::CPU).same(x));  // already there: no copy
}

#ifdef MOE_CUDA
TEST(Device, RoundTripCopiesAndDeviceOps) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device: " << cuda::device_description();
  Tensor x = test::rand32({5, 7}, 3);
  Tensor d = to_device(x, Device::CUDA);
  EXPECT_EQ(d.device(), Device::CUDA);
  EXPECT_EQ(d.to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(to_device(d, Device::CPU).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(d.at({2, 3}), x.at({2, 3}));
  EXPECT_EQ(d.t().contiguous().to_vector<float>(), x.t().contiguous().to_vector<float>());  // strided copy on device
  Tensor idx = to_device(Tensor::from_vector(std::vector<int64_t>{4, 1, 3}, {3}), Device::CUDA);
  EXPECT_EQ(idx.to_vector<int64_t>(), (std::vector<int64_t>{4, 1, 3}));
  d.fill_(2.5);
  EXPECT_EQ(d.to_vector<float>(), std::vector<float>(35, 2.5f));
  test::expect_error([&] { d.copy_(x); }, {"copies between devices are explicit"});
  // Gradients flow back across the copy.
  Tensor leaf = test::rand32({3}, 4);
  leaf.set_requires_grad(true);
  Tensor back = to_device(to_device(leaf, Device::CUDA), Device::CPU);
  sum(back).backward();
  EXPECT_EQ(leaf.grad().to_vector<float>(), std::vector<float>(3, 1.f));
}

TEST(Device, CachingAllocatorReusesFreedBlocks) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device: " << cuda::device_description();
  EXPECT_EQ(cuda::allocation_size_class(1), 512u);
  EXPECT_EQ(cuda::allocation_size_class(513), 1024u);
  EXPECT_EQ(cuda::allocation_size_class((1u << 20) + 1), 2u << 20);
  { Tensor warm = Tensor::empty({1000}, DType::f32, Device::CUDA); }
  const cuda::AllocatorStats before = cuda::allocator_stats();
  for (int i = 0; i < 10; ++i) Tensor t = Tensor::empty({1000}, DType::f32, Device::CUDA);
  const cuda::AllocatorStats after = cuda::allocator_stats();
  EXPECT_EQ(after.cuda_mallocs, before.cuda_mallocs);  // every one came from the cache
  EXPECT_EQ(after.cache_hits, before.cache_hits + 10);
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  cuda::empty_cache();
  EXPECT_EQ(cuda::allocator_stats().cached_bytes, 0u);
}
#endif

}  // namespace
}  // namespace moe
