// Reductions: sum, mean, max, argmax, sum_to.
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(Reduce, SumAndMeanForward) {
  Tensor a = Tensor::arange(24, DType::f64).reshape({2, 3, 4});
  EXPECT_DOUBLE_EQ(sum(a).item(), 276.0);
  EXPECT_DOUBLE_EQ(mean(a).item(), 11.5);
  Tensor s1 = sum(a, {1});
  EXPECT_EQ(s1.shape(), (Shape{2, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t k = 0; k < 4; ++k) {
      double want = 0;
      for (int64_t j = 0; j < 3; ++j) want += a.at({i, j, k});
      EXPECT_DOUBLE_EQ(s1.at({i, k}), want);
    }
  Tensor s02 = sum(a, {0, -1}, true);
  EXPECT_EQ(s02.shape(), (Shape{1, 3, 1}));
  expect_close(s02, {6 + 54, 22 + 70, 38 + 86});
  expect_close(mean(a, {2}), {1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
  EXPECT_THROW(sum(a, {3}), Error);
  EXPECT_THROW(sum(a, {1, 1}), Error);
}

TEST(Reduce, LongSingleRowSumThreaded) {
  // (1, n, inner) takes the split-inner path of cpu::reduce_sum.
  Tensor a = rand32({5000, 64}, 3);
  expect_tensors_close(sum(a, {0}), sum(a.to(DType::f64), {0}), 1e-5);
  expect_tensors_close(sum(a, {1}), sum(a.to(DType::f64), {1}), 1e-5);
}

TEST(Reduce, MaxAndArgmax) {
  Tensor a = Tensor::from_list({1, 5, 3, 7, 2, 7}, {2, 3});
  expect_close(max(a, 1), {5, 7});
  expect_close(argmax(a, 1), {1, 0});  // ties: first index
  expect_close(max(a, 0, true), {7, 5, 7});
  EXPECT_EQ(max(a, 0, true).shape(), (Shape{1, 3}));
  EXPECT_EQ(argmax(a, -1).dtype(), DType::i64);
}

TEST(Reduce, Gradcheck) {
  Tensor x = rand64({3, 4, 5}, 4);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return sum(in[0], {1}); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}, true); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return mean(in[0], {2}); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return mean(in[0]); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return sum(in[0].permute({2, 0, 1}), {2}); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return max(in[0], 1); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return max(in[0].t(), 0, true); }, {rand64({4, 6}, 5)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return sum_to(in[0], {4, 1}); }, {x});
}
