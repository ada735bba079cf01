// grouped_linear: equals a loop of linear() over segments; gradients in float64,
// including empty segments.
#include "moe/ops/grouped_linear.h"

#include <cmath>

#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {
Tensor loop_reference(const Tensor& x, const std::vector<int64_t>& off, const Tensor& w, const Tensor& b) {
  std::vector<Tensor> parts;
  Tensor y = Tensor::zeros({x.size(0), w.size(1)}, x.dtype());
  for (size_t e = 0; e + 1 < off.size(); ++e) {
    if (off[e + 1] == off[e]) continue;
    Tensor ye = linear(x.slice(0, off[e], off[e + 1]), w.select(0, e), b.defined() ? b.select(0, e) : Tensor());
    y.slice(0, off[e], off[e + 1]).copy_(ye);
  }
  return y;
}
}  // namespace

TEST(GroupedLinear, MatchesPerSegmentLinear) {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = rand64({9, 5}, 1).to(dt), w = rand64({4, 3, 5}, 2).to(dt), b = rand64({4, 3}, 3).to(dt);
    std::vector<int64_t> off{0, 2, 2, 7, 9};  // segment 1 empty
    double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    expect_tensors_close(grouped_linear(x, off, w, b), loop_reference(x, off, w, b), tol);
    expect_tensors_close(grouped_linear(x, off, w), loop_reference(x, off, w, Tensor()), tol);
  }
}

TEST(GroupedLinear, Gradcheck) {
  std::vector<int64_t> off{0, 3, 3, 4, 6};
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return grouped_linear(in[0], off, in[1], in[2]); },
                   {rand64({6, 4}, 1), rand64({4, 3, 4}, 2), rand64({4, 3}, 3)});
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return grouped_linear(in[0].t(), off, in[1]); },
                   {rand64({4, 6}, 4), rand64({4, 2, 4}, 5)});
}

TEST(GroupedLinear, EmptyExpertGetsZeroGradient) {
  Tensor x = rand32({4, 3}, 1), w = rand32({3, 2, 3}, 2);
  w.set_requires_grad(true);
  // Leave NaN in freed memory of dW's size class, so a gradient built on uninitialised
  // storage (the caching allocator hands it back) shows.
  for (int i = 0; i < 4; ++i) Tensor::full({3, 2, 3}, std::nan(""));
  sum(grouped_linear(x, {0, 4, 4, 4}, w)).backward();
  for (double v : w.grad().select(0, 1).to_vector<double>()) EXPECT_EQ(v, 0.0);
  for (double v : w.grad().select(0, 2).to_vector<double>()) EXPECT_EQ(v, 0.0);
}

TEST(GroupedLinear, Errors) {
  Tensor x = Tensor::zeros({4, 3}), w = Tensor::zeros({2, 5, 3});
  EXPECT_THROW(grouped_linear(x, {0, 4}, w), Error);         // wrong count
  EXPECT_THROW(grouped_linear(x, {0, 3, 2}, w), Error);      // not ending at rows / decreasing
  EXPECT_THROW(grouped_linear(x, {0, 1, 3}, w), Error);      // does not end at 4
  EXPECT_THROW(grouped_linear(x, {0, 2, 4}, Tensor::zeros({2, 5, 4})), Error);
  EXPECT_THROW(grouped_linear(x, {0, 2, 4}, w, Tensor::zeros({2, 4})), Error);
}
