// matmul and linear against plain loops; gradchecks with transposed and batched operands.
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {
// Plain-loop a (M,K) @ b (K,N), read through at() so any view works.
std::vector<double> naive_mm(const Tensor& a, const Tensor& b) {
  std::vector<double> out;
  for (int64_t i = 0; i < a.size(0); ++i)
    for (int64_t j = 0; j < b.size(1); ++j) {
      double acc = 0;
      for (int64_t k = 0; k < a.size(1); ++k) acc += a.at({i, k}) * b.at({k, j});
      out.push_back(acc);
    }
  return out;
}
}  // namespace

TEST(Matmul, ForwardAllLayouts) {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor a = rand64({5, 7}, 1).to(dt), b = rand64({7, 3}, 2).to(dt);
    Tensor at = rand64({7, 5}, 3).to(dt), bt = rand64({3, 7}, 4).to(dt);
    double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    expect_close(matmul(a, b), naive_mm(a, b), tol);
    expect_close(matmul(at.t(), b), naive_mm(at.t(), b), tol);
    expect_close(matmul(a, bt.t()), naive_mm(a, bt.t()), tol);
    expect_close(matmul(at.t(), bt.t()), naive_mm(at.t(), bt.t()), tol);
    Tensor strided = rand64({5, 14}, 5).to(dt).slice(1, 0, 14, 2);  // needs a copy
    expect_close(matmul(strided, b), naive_mm(strided, b), tol);
  }
}

TEST(Matmul, BatchedForward) {
  Tensor a = rand64({2, 3, 4, 5}, 6), b = rand64({2, 3, 5, 2}, 7), w = rand64({5, 2}, 8);
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{2, 3, 4, 2}));
  expect_close(c.select(0, 1).select(0, 2), naive_mm(a.select(0, 1).select(0, 2), b.select(0, 1).select(0, 2)), 1e-12);
  Tensor d = matmul(a, w);
  EXPECT_EQ(d.shape(), (Shape{2, 3, 4, 2}));
  expect_close(d.select(0, 0).select(0, 1), naive_mm(a.select(0, 0).select(0, 1), w), 1e-12);
}

TEST(Matmul, Errors) {
  EXPECT_THROW(matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 2})), Error);
  EXPECT_THROW(matmul(Tensor::zeros({3}), Tensor::zeros({3, 2})), Error);
  EXPECT_THROW(matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 2})), Error);
  EXPECT_THROW(linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})), Error);
  EXPECT_THROW(linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 3}), Tensor::zeros({5})), Error);
}

TEST(Matmul, Gradcheck) {
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {rand64({3, 4}, 1), rand64({4, 2}, 2)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1].t()); },
                   {rand64({4, 3}, 3), rand64({2, 4}, 4)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
                   {rand64({2, 3, 4}, 5), rand64({2, 4, 2}, 6)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
                   {rand64({2, 3, 4}, 7), rand64({4, 2}, 8)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return matmul(in[0], in[1].transpose(-1, -2)); },
                   {rand64({2, 3, 4}, 9), rand64({2, 5, 4}, 10)});
}

TEST(Linear, ForwardMatchesMatmulPlusBias) {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = rand64({2, 3, 4}, 1).to(dt), w = rand64({5, 4}, 2).to(dt), b = rand64({5}, 3).to(dt);
    Tensor y = linear(x, w, b);
    EXPECT_EQ(y.shape(), (Shape{2, 3, 5}));
    expect_tensors_close(y, add(matmul(x, w.t()), b), dt == DType::f32 ? 1e-5 : 1e-12);
    expect_tensors_close(linear(x, w), matmul(x, w.t()), dt == DType::f32 ? 1e-5 : 1e-12);
  }
}

TEST(Linear, Gradcheck) {
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
                   {rand64({2, 3, 4}, 1), rand64({5, 4}, 2), rand64({5}, 3)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); },
                   {rand64({3, 4}, 4), rand64({2, 4}, 5)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0].t(), in[1]); },
                   {rand64({4, 3}, 6), rand64({2, 4}, 7)});
}

TEST(Linear, LargeFloat32MatchesDouble) {
  Tensor x = rand32({256, 96}, 11), w = rand32({80, 96}, 12), b = rand32({80}, 13);
  Tensor y = linear(x, w, b);
  Tensor y64 = linear(x.to(DType::f64), w.to(DType::f64), b.to(DType::f64));
  expect_tensors_close(y, y64, 1e-4);
}
