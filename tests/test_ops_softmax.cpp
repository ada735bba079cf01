// softmax and log_softmax: forward against a plain loop along every dim, float64
// gradchecks (contiguous, transposed, sliced), cpu:: kernels against ref::, errors.
#include <cmath>

#include "moe/kernels/kernels.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// Softmax (or log_softmax) of x (contiguous values of `shape`) along dim d, by loops.
std::vector<double> softmax_loop(const std::vector<double>& x, const Shape& shape, int d, bool log) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= shape[i];
  for (size_t i = d + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t n = shape[d];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t i) { return (o * n + i) * inner + j; };
      double m = -INFINITY, s = 0;
      for (int64_t i = 0; i < n; ++i) m = std::max(m, x[at(i)]);
      for (int64_t i = 0; i < n; ++i) s += std::exp(x[at(i)] - m);
      for (int64_t i = 0; i < n; ++i) y[at(i)] = log ? x[at(i)] - m - std::log(s) : std::exp(x[at(i)] - m) / s;
    }
  return y;
}

}  // namespace

TEST(Softmax, ForwardMatchesLoopAlongEveryDim) {
  const Shape shape{2, 3, 4};
  Tensor x = rand64(shape, 1, -3, 3);
  for (int d = 0; d < 3; ++d) {
    expect_close(softmax(x, d), softmax_loop(x.to_vector<double>(), shape, d, false), 1e-12);
    expect_close(log_softmax(x, d), softmax_loop(x.to_vector<double>(), shape, d, true), 1e-12);
    expect_close(softmax(x.to(DType::f32), d - 3), softmax_loop(x.to_vector<double>(), shape, d, false), 1e-6);
    expect_close(log_softmax(x.to(DType::f32), d - 3), softmax_loop(x.to_vector<double>(), shape, d, true), 1e-6);
  }
}

TEST(Softmax, NonContiguousInputAndContiguousOutput) {
  Tensor base = rand64({5, 3}, 2);
  Tensor xt = base.t();  // (3, 5), strided
  Tensor y = softmax(xt, -1);
  EXPECT_TRUE(y.is_contiguous());
  expect_close(y, softmax_loop(xt.contiguous().to_vector<double>(), {3, 5}, 1, false), 1e-12);
  Tensor xs = rand64({4, 9}, 3).slice(1, 1, 9, 2);  // (4, 4), step 2
  expect_close(log_softmax(xs, 0), softmax_loop(xs.contiguous().to_vector<double>(), {4, 4}, 0, true), 1e-12);
}

TEST(Softmax, LargeLogitsAreStable) {
  Tensor x = Tensor::from_list({1000, 1001, 1002, -1000}, {1, 4});
  std::vector<double> want = softmax_loop({1000, 1001, 1002, -1000}, {1, 4}, 1, false);
  expect_close(softmax(x), want, 1e-6);
  expect_close(log_softmax(x), softmax_loop({1000, 1001, 1002, -1000}, {1, 4}, 1, true), 1e-6);
  for (double v : log_softmax(x).to_vector<double>()) EXPECT_TRUE(std::isfinite(v));
}

TEST(Softmax, ZeroDimTensorIsOne) {
  expect_close(softmax(Tensor::scalar(3.0)), {1.0});
  expect_close(log_softmax(Tensor::scalar(3.0, DType::f64)), {0.0});
}

TEST(Softmax, Gradcheck) {
  for (int log = 0; log < 2; ++log) {
    auto along = [log](int64_t dim) {
      return [log, dim](const std::vector<Tensor>& in) { return log ? log_softmax(in[0], dim) : softmax(in[0], dim); };
    };
    EXPECT_GRADCHECK(along(-1), {rand64({3, 5}, 10, -2, 2)});
    EXPECT_GRADCHECK(along(0), {rand64({3, 5}, 11, -2, 2)});
    EXPECT_GRADCHECK(along(2), {rand64({2, 3, 7}, 12, -2, 2)});
    EXPECT_GRADCHECK(along(1), {rand64({2, 3, 7}, 13, -2, 2)});
    EXPECT_GRADCHECK(along(0), {rand64({2, 3, 7}, 14, -2, 2)});
    // A transposed and a sliced view as input (the view's own backward is in the graph).
    auto transposed = [log](const std::vector<Tensor>& in) {
      return log ? log_softmax(in[0].t(), -1) : softmax(in[0].t(), -1);
    };
    EXPECT_GRADCHECK(transposed, {rand64({6, 4}, 15, -2, 2)});
    auto sliced = [log](const std::vector<Tensor>& in) {
      Tensor v = in[0].slice(1, 0, 8, 2);
      return log ? log_softmax(v, 1) : softmax(v, 1);
    };
    EXPECT_GRADCHECK(sliced, {rand64({3, 8}, 16, -2, 2)});
  }
}

TEST(Softmax, FloatGradientMatchesDouble) {
  Tensor x64 = rand64({4, 6, 5}, 20, -2, 2).set_requires_grad(true);
  Tensor x32 = x64.detach().to(DType::f32).set_requires_grad(true);
  Tensor w = rand64({4, 6, 5}, 21);
  sum(mul(softmax(x64, 1), w)).backward();
  sum(mul(softmax(x32, 1), w.to(DType::f32))).backward();
  expect_tensors_close(x32.grad(), x64.grad(), 1e-5);
}

TEST(Softmax, CpuKernelsMatchRef) {
  const int64_t rows = 257, n = 129;  // big enough to run on several threads
  Tensor x = rand32({rows, n}, 30, -5, 5), gy = rand32({rows, n}, 31);
  Tensor y_cpu = Tensor::empty({rows, n}), y_ref = Tensor::empty({rows, n});
  Tensor g_cpu = Tensor::empty({rows, n}), g_ref = Tensor::empty({rows, n});
  const float *px = x.data<float>(), *pg = gy.data<float>();
  kernels::cpu::softmax_rows(px, y_cpu.data<float>(), rows, n);
  kernels::ref::softmax_rows(px, y_ref.data<float>(), rows, n);
  expect_tensors_close(y_cpu, y_ref, 1e-6);
  kernels::cpu::softmax_backward_rows(y_ref.data<float>(), pg, g_cpu.data<float>(), rows, n);
  kernels::ref::softmax_backward_rows(y_ref.data<float>(), pg, g_ref.data<float>(), rows, n);
  expect_tensors_close(g_cpu, g_ref, 1e-6);
  kernels::cpu::log_softmax_rows(px, y_cpu.data<float>(), rows, n);
  kernels::ref::log_softmax_rows(px, y_ref.data<float>(), rows, n);
  expect_tensors_close(y_cpu, y_ref, 1e-6);
  kernels::cpu::log_softmax_backward_rows(y_ref.data<float>(), pg, g_cpu.data<float>(), rows, n);
  kernels::ref::log_softmax_backward_rows(y_ref.data<float>(), pg, g_ref.data<float>(), rows, n);
  expect_tensors_close(g_cpu, g_ref, 1e-6);
}

TEST(Softmax, BadInputThrows) {
  EXPECT_THROW(softmax(Tensor::ones({2, 3}, DType::i64)), Error);
  EXPECT_THROW(softmax(Tensor::ones({2, 3}), 2), Error);
  EXPECT_THROW(log_softmax(Tensor::ones({2, 3}), -3), Error);
  try {
    softmax(Tensor::ones({2, 3}), 5);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos) << e.what();
  }
}
