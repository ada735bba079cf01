// concat, stack, split, chunk: forward against loops (non-contiguous inputs included),
// float64 gradchecks, view sharing, torch's split/chunk sizes, errors.
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {
std::vector<int64_t> sizes_along(const std::vector<Tensor>& pieces, int64_t d) {
  std::vector<int64_t> s;
  for (const Tensor& p : pieces) s.push_back(p.size(d));
  return s;
}
}  // namespace

TEST(Concat, ForwardMatchesLoopWithViews) {
  Tensor a = rand32({2, 3}, 1);
  Tensor b = rand32({4, 2}, 2).t();            // (2, 4), transposed
  Tensor c = rand32({2, 6}, 3).slice(1, 0, 6, 3);  // (2, 2), strided
  Tensor out = concat({a, b, c}, 1);
  ASSERT_EQ(out.shape(), (Shape{2, 9}));
  std::vector<double> want;
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) want.push_back(a.at({i, j}));
    for (int64_t j = 0; j < 4; ++j) want.push_back(b.at({i, j}));
    for (int64_t j = 0; j < 2; ++j) want.push_back(c.at({i, j}));
  }
  expect_close(out, want, 0);
  // dim 0 (and negative dims), integer tensors
  Tensor rows = concat({a, b.slice(1, 0, 3)}, -2);
  EXPECT_EQ(rows.shape(), (Shape{4, 3}));
  EXPECT_DOUBLE_EQ(rows.at({3, 2}), b.at({1, 2}));
  Tensor ints = concat({Tensor::arange(3), Tensor::arange(2)}, 0);
  EXPECT_EQ(ints.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 0, 1}));
  EXPECT_EQ(concat({a}, 0).to_vector<float>(), a.to_vector<float>());
}

TEST(Concat, GradcheckNonContiguous) {
  auto f = [](int64_t d) {
    return [d](const std::vector<Tensor>& in) {
      return concat({in[0], in[1].transpose(0, 1), in[2].slice(2, 1, 5, 2)}, d);
    };
  };
  // in[0]: (2, 3, 2); in[1] as (3, 2, 2) -> (2, 3, 2); in[2] (2, 3, 5) sliced -> (2, 3, 2)
  EXPECT_GRADCHECK(f(0), {rand64({2, 3, 2}, 4), rand64({3, 2, 2}, 5), rand64({2, 3, 5}, 6)});
  EXPECT_GRADCHECK(f(1), {rand64({2, 3, 2}, 7), rand64({3, 2, 2}, 8), rand64({2, 3, 5}, 9)});
  EXPECT_GRADCHECK(f(-1), {rand64({2, 3, 2}, 10), rand64({3, 2, 2}, 11), rand64({2, 3, 5}, 12)});
  // the same input twice, and an input that needs no gradient
  auto twice = [](const std::vector<Tensor>& in) {
    return concat({in[0], Tensor::ones({1, 3}, DType::f64), in[0]}, 0);
  };
  EXPECT_GRADCHECK(twice, {rand64({2, 3}, 13)});
}

TEST(Stack, ForwardAndGradcheck) {
  Tensor a = rand32({2, 3}, 14), b = rand32({3, 2}, 15).t();
  for (int64_t d : {0, 1, 2, -1}) {
    Tensor s = stack({a, b}, d);
    Shape want = {2, 3};
    const int64_t dd = d < 0 ? d + 3 : d;
    want.insert(want.begin() + dd, 2);
    ASSERT_EQ(s.shape(), want);
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        EXPECT_DOUBLE_EQ(s.select(dd, 0).at({i, j}), a.at({i, j}));
        EXPECT_DOUBLE_EQ(s.select(dd, 1).at({i, j}), b.at({i, j}));
      }
  }
  auto f = [](int64_t d) {
    return [d](const std::vector<Tensor>& in) { return stack({in[0], in[1].t(), in[0]}, d); };
  };
  EXPECT_GRADCHECK(f(0), {rand64({2, 3}, 16), rand64({3, 2}, 17)});
  EXPECT_GRADCHECK(f(1), {rand64({2, 3}, 18), rand64({3, 2}, 19)});
  EXPECT_GRADCHECK(f(2), {rand64({2, 3}, 20), rand64({3, 2}, 21)});
}

TEST(Split, SizesAndViews) {
  Tensor x = Tensor::arange(20, DType::f32).reshape({4, 5});
  std::vector<Tensor> p = split(x, {2, 0, 3}, 1);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(sizes_along(p, 1), (std::vector<int64_t>{2, 0, 3}));
  EXPECT_EQ(p[0].impl()->storage, x.impl()->storage);  // views, no copies
  EXPECT_EQ(p[2].to_vector<float>(), x.slice(1, 2, 5).to_vector<float>());
  EXPECT_EQ(sizes_along(split(x, 2, 0), 0), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(sizes_along(split(x, 2, -1), 1), (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(sizes_along(split(x, 7, 1), 1), (std::vector<int64_t>{5}));
  EXPECT_EQ(split(x, {4}, 0).size(), 1u);  // braces mean sizes, not pieces of 4
  EXPECT_EQ(sizes_along(split(x, std::vector<int64_t>{1, 3}, 0), 0), (std::vector<int64_t>{1, 3}));
  Tensor empty = Tensor::zeros({0, 3});
  EXPECT_EQ(split(empty, 2, 0).size(), 1u);
  // concat undoes split
  EXPECT_EQ(concat(split(x, 2, 1), 1).to_vector<float>(), x.to_vector<float>());
}

TEST(Chunk, TorchSizes) {
  Tensor x = Tensor::arange(5, DType::f32);
  EXPECT_EQ(sizes_along(chunk(x, 4, 0), 0), (std::vector<int64_t>{2, 2, 1}));  // fewer than 4, as torch
  EXPECT_EQ(sizes_along(chunk(x, 5, 0), 0), (std::vector<int64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(sizes_along(chunk(x, 2, 0), 0), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(sizes_along(chunk(x, 9, 0), 0), (std::vector<int64_t>{1, 1, 1, 1, 1}));
  Tensor y = Tensor::arange(12, DType::f32).reshape({3, 4});
  std::vector<Tensor> c = chunk(y, 2, 1);
  EXPECT_EQ(c[1].to_vector<float>(), (std::vector<float>{2, 3, 6, 7, 10, 11}));
}

TEST(SplitChunk, Gradcheck) {
  auto f = [](const std::vector<Tensor>& in) {
    std::vector<Tensor> p = split(in[0].t(), {1, 3}, 1);  // pieces of a transposed input
    std::vector<Tensor> c = chunk(in[0], 2, 0);
    return concat({mul(p[1], p[1]).reshape({-1}), c[1].reshape({-1}), p[0].reshape({-1})}, 0);
  };
  EXPECT_GRADCHECK(f, {rand64({4, 3}, 22)});
}

TEST(Join, BadInputThrows) {
  Tensor a = rand32({2, 3}, 23);
  EXPECT_THROW(concat({}, 0), Error);
  EXPECT_THROW(concat({a, rand32({3, 3}, 1)}, 1), Error);   // differs off dim
  EXPECT_THROW(concat({a, rand32({2}, 1)}, 0), Error);      // ndim
  EXPECT_THROW(concat({a, rand64({2, 3}, 1)}, 0), Error);   // dtype
  EXPECT_THROW(concat({a, a}, 2), Error);
  EXPECT_THROW(stack({a, rand32({3, 2}, 1)}, 0), Error);
  EXPECT_THROW(stack({a, a}, 3), Error);
  EXPECT_THROW(split(a, {1, 1}, 1), Error);   // sums to 2, not 3
  EXPECT_THROW(split(a, {4, -1}, 1), Error);
  EXPECT_THROW(split(a, 0, 1), Error);
  EXPECT_THROW(chunk(a, 0, 1), Error);
  try {
    concat({a, rand32({3, 3}, 1)}, 1);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("concat: tensor 1 float32[3, 3]"), std::string::npos) << e.what();
  }
}
