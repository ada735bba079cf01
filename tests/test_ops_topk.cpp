// topk: forward against a stable sort, tie and NaN order, float64 gradchecks on inputs
// without ties, cpu:: against ref::, errors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "test_util.h"

#include "moe/kernels/kernels.h"

using namespace moe;
using namespace moe::test;

namespace {

// Distinct values (a shuffled 0.1-spaced grid plus small noise): no ties closer than
// 0.08, so a finite-difference step never reorders them.
Tensor distinct64(const Shape& s, uint64_t seed) {
  const int64_t n = numel_of(s);
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), int64_t{0});
  Rng rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.randint(0, i + 1)]);
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.1 * static_cast<double>(perm[i] - n / 2) + 0.01 * rng.uniform();
  return Tensor::from_vector(v, s);
}

// The reference: per row of a (rows, n) vector, stable-sort positions by value
// (descending when largest) and keep the first k.
void topk_loop(const std::vector<double>& x, int64_t rows, int64_t n, int64_t k, bool largest,
               std::vector<double>& values, std::vector<int64_t>& indices) {
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return largest ? x[r * n + a] > x[r * n + b] : x[r * n + a] < x[r * n + b];
    });
    for (int64_t i = 0; i < k; ++i) {
      values.push_back(x[r * n + order[i]]);
      indices.push_back(order[i]);
    }
  }
}

}  // namespace

TEST(Topk, ForwardMatchesStableSortOnEveryDim) {
  Tensor x = rand32({3, 5, 4}, 1);
  // Integer-valued inputs have many ties: the stable sort fixes the expected order.
  Tensor xi = Tensor::from_vector(std::vector<float>(60), {3, 5, 4});
  {
    Rng rng(2);
    float* p = xi.data<float>();
    for (int i = 0; i < 60; ++i) p[i] = static_cast<float>(rng.randint(0, 4));
  }
  for (const Tensor& input : {x, xi})
    for (int d = 0; d < 3; ++d)
      for (bool largest : {true, false}) {
        const int64_t n = input.shape()[d], k = n - 1;
        // rows along d: move d last
        Tensor moved = input.transpose(d, 2).contiguous();
        std::vector<double> values;
        std::vector<int64_t> indices;
        topk_loop(moved.to_vector<double>(), moved.numel() / n, n, k, largest, values, indices);
        TopK got = topk(input, k, d, largest);
        Shape want_shape = input.shape();
        want_shape[d] = k;
        ASSERT_EQ(got.values.shape(), want_shape);
        ASSERT_EQ(got.indices.dtype(), DType::i64);
        EXPECT_EQ(got.values.transpose(d, 2).contiguous().to_vector<double>(), values) << d << largest;
        EXPECT_EQ(got.indices.transpose(d, 2).contiguous().to_vector<int64_t>(), indices) << d << largest;
      }
}

TEST(Topk, TiesGoToLowerIndexAndNanRanksFirst) {
  Tensor x = Tensor::from_list({1, 3, 3, 2, 3}, {5});
  EXPECT_EQ(topk(x, 3).indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(topk(x, 4, 0, false).indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 3, 1, 2}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor y = Tensor::from_list({0.5f, nan, 2.0f, nan}, {4});
  EXPECT_EQ(topk(y, 3).indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 3, 2}));
  EXPECT_EQ(topk(y, 3, -1, false).indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(topk(x, 0).values.shape(), (Shape{0}));
  expect_close(topk(x, 5).values, {3, 3, 3, 2, 1}, 0);
}

TEST(Topk, IndicesAreNotDifferentiable) {
  Tensor x = rand64({2, 6}, 3).set_requires_grad(true);
  TopK t = topk(x, 2);
  EXPECT_TRUE(t.values.requires_grad());
  EXPECT_FALSE(t.indices.requires_grad());
  sum(t.values).backward();
  // one 1 per selected entry
  std::vector<double> g = x.grad().to_vector<double>(), xv = x.to_vector<double>();
  std::vector<int64_t> idx = t.indices.to_vector<int64_t>();
  std::vector<double> want(12, 0.0);
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 2; ++i) want[r * 6 + idx[r * 2 + i]] = 1.0;
  EXPECT_EQ(g, want);
}

TEST(Topk, Gradcheck) {
  auto f = [](int64_t k, int64_t d, bool largest) {
    return [=](const std::vector<Tensor>& in) { return topk(in[0], k, d, largest).values; };
  };
  EXPECT_GRADCHECK(f(2, -1, true), {distinct64({3, 5}, 4)});
  EXPECT_GRADCHECK(f(3, 0, false), {distinct64({4, 3}, 5)});
  EXPECT_GRADCHECK(f(1, 1, true), {distinct64({2, 4, 3}, 6)});
  EXPECT_GRADCHECK(f(4, 2, true), {distinct64({2, 2, 4}, 7)});
  auto ft = [](const std::vector<Tensor>& in) { return topk(in[0].t(), 2).values; };  // transposed input
  EXPECT_GRADCHECK(ft, {distinct64({5, 3}, 8)});
}

TEST(Topk, CpuMatchesRef) {
  const int64_t rows = 600, n = 64, k = 8;
  Tensor x = rand32({rows, n}, 9);
  for (bool largest : {true, false}) {
    std::vector<float> v_cpu(rows * k), v_ref(rows * k);
    std::vector<int64_t> i_cpu(rows * k), i_ref(rows * k);
    kernels::cpu::topk(x.data<float>(), v_cpu.data(), i_cpu.data(), rows, n, k, largest);
    kernels::ref::topk(x.data<float>(), v_ref.data(), i_ref.data(), rows, n, k, largest);
    EXPECT_EQ(v_cpu, v_ref);
    EXPECT_EQ(i_cpu, i_ref);
  }
  // and float32 against float64 through the op
  Tensor x64 = rand64({7, 30}, 10);
  TopK a = topk(x64.to(DType::f32), 5), b = topk(x64, 5);
  EXPECT_EQ(a.indices.to_vector<int64_t>(), b.indices.to_vector<int64_t>());
  expect_tensors_close(a.values, b.values, 1e-6);
}

TEST(Topk, BadInputThrows) {
  Tensor x = rand32({3, 4}, 11);
  EXPECT_THROW(topk(x, 5), Error);
  EXPECT_THROW(topk(x, -1), Error);
  EXPECT_THROW(topk(x, 1, 2), Error);
  EXPECT_THROW(topk(Tensor::ones({3}, DType::i64), 1), Error);
  try {
    topk(x, 5);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("topk: k = 5"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[3, 4]"), std::string::npos) << e.what();
  }
}
