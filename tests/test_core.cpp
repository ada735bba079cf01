// Tensor basics, views, copies, the RNG.
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(Tensor, FactoriesAndMetadata) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_TRUE(z.is_contiguous());
  expect_close(z, {0, 0, 0, 0, 0, 0});
  expect_close(Tensor::full({2}, 2.5, DType::f64), {2.5, 2.5});
  expect_close(Tensor::arange(4), {0, 1, 2, 3});
  EXPECT_EQ(Tensor::arange(4).dtype(), DType::i64);
  EXPECT_EQ(Tensor::scalar(3.0).dim(), 0);
  EXPECT_DOUBLE_EQ(Tensor::scalar(3.0).item(), 3.0);
  EXPECT_THROW(Tensor::zeros({2, 3}).item(), Error);
  EXPECT_THROW(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(Tensor::empty({-1}), Error);
}

TEST(Tensor, DataChecksDtype) {
  Tensor t = Tensor::zeros({2}, DType::f64);
  EXPECT_THROW(t.data<float>(), Error);
  EXPECT_NO_THROW(t.data<double>());
}

TEST(Tensor, TransposeIsAView) {
  Tensor a = Tensor::from_list({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor t = a.t();
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.impl()->storage, a.impl()->storage);
  expect_close(t, {1, 4, 2, 5, 3, 6});
  EXPECT_DOUBLE_EQ(t.at({2, 1}), 6.0);
}

TEST(Tensor, PermuteSliceSelectExpand) {
  Tensor a = Tensor::arange(24, DType::f32).reshape({2, 3, 4});
  Tensor p = a.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_DOUBLE_EQ(p.at({3, 1, 2}), a.at({1, 2, 3}));
  Tensor s = a.slice(2, 1, 4, 2);  // columns 1 and 3
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_DOUBLE_EQ(s.at({1, 2, 1}), a.at({1, 2, 3}));
  Tensor neg = a.slice(-1, -2, 4);
  EXPECT_EQ(neg.shape(), (Shape{2, 3, 2}));
  EXPECT_DOUBLE_EQ(neg.at({0, 0, 0}), 2.0);
  Tensor sel = a.select(1, -1);
  EXPECT_EQ(sel.shape(), (Shape{2, 4}));
  EXPECT_DOUBLE_EQ(sel.at({1, 0}), a.at({1, 2, 0}));
  Tensor e = Tensor::from_list({1, 2, 3}, {3, 1}).expand({2, 3, 4});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 4}));
  EXPECT_DOUBLE_EQ(e.at({1, 2, 3}), 3.0);
  EXPECT_THROW(a.expand({2, 5, 4}), Error);
  EXPECT_THROW(a.permute({0, 0, 1}), Error);
}

TEST(Tensor, ReshapeCopiesOnlyWhenNeeded) {
  Tensor a = Tensor::arange(6, DType::f32).reshape({2, 3});
  EXPECT_EQ(a.reshape({3, 2}).impl()->storage, a.impl()->storage);
  EXPECT_EQ(a.reshape({-1}).shape(), (Shape{6}));
  Tensor t = a.t().reshape({6});
  EXPECT_NE(t.impl()->storage, a.impl()->storage);
  expect_close(t, {0, 3, 1, 4, 2, 5});
  EXPECT_THROW(a.t().view({6}), Error);
  EXPECT_THROW(a.reshape({4, -1}), Error);
  EXPECT_THROW(a.reshape({-1, -1}), Error);
}

TEST(Tensor, UnsqueezeSqueeze) {
  Tensor a = Tensor::arange(6, DType::f32).reshape({2, 3});
  EXPECT_EQ(a.unsqueeze(0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(a.unsqueeze(-1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(a.unsqueeze(1).squeeze(1).shape(), (Shape{2, 3}));
  EXPECT_THROW(a.squeeze(0), Error);
}

TEST(Tensor, CopyAndFillIntoStridedViews) {
  Tensor a = Tensor::zeros({3, 4});
  a.slice(1, 1, 3).fill_(7.0);
  expect_close(a, {0, 7, 7, 0, 0, 7, 7, 0, 0, 7, 7, 0});
  Tensor b = Tensor::zeros({2, 3});
  b.t().copy_(Tensor::from_list({1, 2, 3, 4, 5, 6}, {3, 2}));
  expect_close(b, {1, 3, 5, 2, 4, 6});
  EXPECT_THROW(b.copy_(Tensor::zeros({4})), Error);
  EXPECT_THROW(b.copy_(Tensor::zeros({2, 3}, DType::f64)), Error);
}

TEST(Tensor, DtypeConversion) {
  Tensor a = Tensor::from_list({1.5f, -2.5f}, {2});
  expect_close(a.to(DType::f64), {1.5, -2.5});
  expect_close(a.to(DType::i64), {1, -2});
  EXPECT_EQ(a.to(DType::i32).dtype(), DType::i32);
}

TEST(Rng, PhiloxIsDeterministicAndWellSpread) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(Rng(42).next_u64(), c.next_u64());
  Rng r(1);
  Tensor n = Tensor::randn({20000}, r, 1.0, DType::f64);
  double m = mean(n).item();
  double var = mean(square(n)).item() - m * m;
  EXPECT_NEAR(m, 0.0, 0.03);
  EXPECT_NEAR(var, 1.0, 0.05);
  Tensor u = Tensor::rand({20000}, r, 2.0, 4.0, DType::f64);
  EXPECT_NEAR(mean(u).item(), 3.0, 0.03);
  std::vector<double> uv = u.to_vector<double>();
  for (double v : uv) ASSERT_TRUE(v >= 2.0 && v < 4.0);
  for (int i = 0; i < 1000; ++i) {
    int64_t k = r.randint(-3, 5);
    ASSERT_TRUE(k >= -3 && k < 5);
  }
}

TEST(Rng, FillIsIndependentOfThreadCount) {
  set_num_threads(1);
  Rng r1(9);
  Tensor a = Tensor::randn({100000}, r1);
  set_num_threads(2);
  Rng r2(9);
  Tensor b = Tensor::randn({100000}, r2);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_EQ(r1.offset(), r2.offset());
}

TEST(Rng, BulkFillsEqualTheScalarDrawsBitForBit) {
  // Lengths off the 16-counter block, and a start whose counters cross 2^32
  // (the high counter word changes inside a block).
  for (uint64_t first : {uint64_t{0}, uint64_t{17}, (uint64_t{1} << 32) - 5}) {
    for (int64_t n : {1, 15, 16, 37, 300}) {
      std::vector<double> u(static_cast<size_t>(n)), z(static_cast<size_t>(n));
      Rng::uniform_fill(77, first, n, u.data());
      Rng::normal_fill(77, first, n, z.data());
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(u[static_cast<size_t>(i)], Rng::uniform_at(77, first + static_cast<uint64_t>(i))) << first << " " << i;
        ASSERT_EQ(z[static_cast<size_t>(i)], Rng::normal_at(77, first + static_cast<uint64_t>(i))) << first << " " << i;
      }
    }
  }
  // Four words per counter: aligned and unaligned starts, lengths off the 64-element block.
  for (uint64_t first : {uint64_t{0}, (uint64_t{1} << 32) - 5}) {
    for (uint64_t i0 : {uint64_t{0}, uint64_t{3}, uint64_t{64}, uint64_t{129}}) {
      for (int64_t n : {1, 63, 64, 65, 300}) {
        std::vector<double> u(static_cast<size_t>(n));
        Rng::uniform4_fill(77, first, i0, n, u.data());
        for (int64_t j = 0; j < n; ++j) {
          const uint64_t i = i0 + static_cast<uint64_t>(j);
          ASSERT_EQ(u[static_cast<size_t>(j)], u32_to_unit(philox4x32(first + i / 4, 77)[i % 4]))
              << first << " " << i0 << " " << j;
        }
      }
    }
  }
  // Tensor::randn / rand draw the same numbers as the scalar path.
  Rng r(5);
  const std::vector<double> got = Tensor::randn({1000}, r, 0.5, DType::f64).to_vector<double>();
  const std::vector<double> flat = Tensor::rand({1000}, r, -1.0, 3.0, DType::f64).to_vector<double>();
  for (int64_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(got[static_cast<size_t>(i)], 0.5 * Rng::normal_at(5, static_cast<uint64_t>(i)));
    ASSERT_EQ(flat[static_cast<size_t>(i)], -1.0 + 4.0 * Rng::uniform_at(5, 1000 + static_cast<uint64_t>(i)));
  }
}
