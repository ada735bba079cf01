// test_cuda_util.h: helpers for the CUDA tests (tests/test_cuda_*.cpp, built only with
// MOE_CUDA): the skip when no device is visible, device copies, fresh random inputs and
// the normalised error ||got - want|| / ||want|| against float64 references.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "moe/core/cuda/runtime.h"
#include "moe/ops/to_device.h"
#include "moe/moe.h"

// Skips the test (cleanly, no CUDA call that could crash) when cudaGetDeviceCount reports
// no device or fails, as on a machine without a GPU or driver.
#define MOE_REQUIRE_CUDA_DEVICE()                                                                 \
  do {                                                                                            \
    if (::moe::cuda::device_count() == 0)                                                         \
      GTEST_SKIP() << "no CUDA device: " << ::moe::cuda::device_description();                    \
  } while (0)

namespace moe::test {

// A seed drawn fresh for each call (inputs differ run to run); tests print it on failure.
inline uint64_t fresh_seed() {
  static std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) | rd();
}

// Host float32 tensor with values in [lo, hi) and its device copy.
struct Pair {
  Tensor host, dev;
};
inline Pair random_pair(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng rng(seed);
  Tensor h = Tensor::rand(s, rng, lo, hi, DType::f32);
  return {h, to_device(h, Device::CUDA)};
}

// A device float32 tensor of `s` filled with NaN, so an element the kernel never writes fails.
inline Tensor poisoned(const Shape& s) {
  Tensor t = Tensor::empty(s, DType::f32, Device::CUDA);
  t.fill_(std::nan(""));
  return t;
}

inline Tensor device_index(const std::vector<int64_t>& v) {
  return to_device(Tensor::from_vector(v, {static_cast<int64_t>(v.size())}), Device::CUDA);
}

inline std::vector<double> doubles(const Tensor& t) { return t.to_vector<double>(); }

// ||got - want|| / ||want|| (||want|| floored at 1e-30); infinite if got has a NaN or Inf.
inline double normalized_error(const std::vector<double>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (!std::isfinite(got[i]) && std::isfinite(want[i])) return INFINITY;
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

// Streams like any EXPECT_*: EXPECT_NORM_ERR(got, want, 1e-5) << "context";
#define EXPECT_NORM_ERR(got, want, tol) EXPECT_LE(::moe::test::normalized_error((got), (want)), (tol))

}  // namespace moe::test
