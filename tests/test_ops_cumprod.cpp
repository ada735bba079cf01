// cumprod (inclusive and exclusive): forward against a plain loop along every dim,
// float64 gradchecks (contiguous, transposed, sliced, with zeros), the backward against
// a brute-force Jacobian where x holds zeros, cpu:: kernels against ref::, errors.
#include "moe/kernels/kernels.h"
#include "moe/ops/cumprod.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

std::vector<double> cumprod_loop(const std::vector<double>& x, const Shape& shape, int d, bool exclusive) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= shape[i];
  for (size_t i = d + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t n = shape[d];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      double running = 1;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t at = (o * n + i) * inner + j;
        if (exclusive) y[at] = running, running *= x[at];
        else running *= x[at], y[at] = running;
      }
    }
  return y;
}

}  // namespace

TEST(Cumprod, ForwardMatchesLoopAlongEveryDim) {
  const Shape shape = {3, 4, 5};
  const Tensor x = rand64(shape, 1, -1.5, 1.5);
  for (int d = 0; d < 3; ++d)
    for (bool exclusive : {false, true}) {
      expect_close(cumprod(x, d, exclusive), cumprod_loop(x.to_vector<double>(), shape, d, exclusive), 1e-12);
      expect_close(cumprod(x.to(DType::f32), d - 3, exclusive),
                   cumprod_loop(x.to_vector<double>(), shape, d, exclusive), 1e-5);
    }
}

TEST(Cumprod, HandComputedRow) {
  const Tensor x = Tensor::from_list({0.2f, 0.5f, 0.9f}, {3});
  expect_close(cumprod(x), {0.2, 0.1, 0.09}, 1e-6);
  expect_close(cumprod(x, 0, true), {1.0, 0.2, 0.1}, 1e-6);
}

TEST(Cumprod, NonContiguousInput) {
  const Tensor base = rand64({4, 6}, 2);
  const Tensor xt = base.t();                 // (6, 4), strided
  const Tensor xs = base.slice(1, 1, 6, 2);   // (4, 3), step 2
  expect_close(cumprod(xt, 1, true), cumprod_loop(xt.contiguous().to_vector<double>(), {6, 4}, 1, true), 1e-12);
  expect_close(cumprod(xs, 1), cumprod_loop(xs.contiguous().to_vector<double>(), {4, 3}, 1, false), 1e-12);
  EXPECT_TRUE(cumprod(xt, 0).is_contiguous());
}

TEST(Cumprod, Gradcheck) {
  for (bool exclusive : {false, true}) {
    for (int d : {0, 1, -1}) {
      auto f = [d, exclusive](const std::vector<Tensor>& in) { return cumprod(in[0], d, exclusive); };
      EXPECT_GRADCHECK(f, {rand64({3, 5}, 3)});
      EXPECT_GRADCHECK(f, {rand64({2, 3, 4}, 4)});
    }
    EXPECT_GRADCHECK([exclusive](const std::vector<Tensor>& in) { return cumprod(in[0].t(), 1, exclusive); },
                     {rand64({4, 3}, 5)});
    EXPECT_GRADCHECK([exclusive](const std::vector<Tensor>& in) { return cumprod(in[0].slice(1, 0, 6, 2), 1, exclusive); },
                     {rand64({3, 6}, 6)});
    EXPECT_GRADCHECK([exclusive](const std::vector<Tensor>& in) { return cumprod(in[0], 0, exclusive); },
                     {rand64({1}, 7)});
  }
}

TEST(Cumprod, BackwardIsExactWithZeros) {
  // A division-based backward (y / x) would give NaN here; the Jacobian by hand:
  // y = (x0, x0 x1, x0 x1 x2), x = (2, 0, 3), gy = (1, 1, 1):
  // gx0 = 1 + x1 + x1 x2 = 1, gx1 = x0 + x0 x2 = 8, gx2 = x0 x1 = 0.
  Tensor x = Tensor::from_vector(std::vector<double>{2, 0, 3}, {3});
  x.set_requires_grad(true);
  sum(cumprod(x)).backward();
  expect_close(x.grad(), {1, 8, 0}, 1e-12);
  // Exclusive: y = (1, x0, x0 x1): gx0 = 1 + x1 = 1, gx1 = x0 = 2, gx2 = 0.
  x.zero_grad();
  sum(cumprod(x, 0, true)).backward();
  expect_close(x.grad(), {1, 2, 0}, 1e-12);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return cumprod(in[0], 1); },
                   {Tensor::from_vector(std::vector<double>{0.5, 0.0, -0.7, 0.0, 1.2, 0.3}, {2, 3})});
}

TEST(Cumprod, CpuKernelsMatchRef) {
  const int64_t rows = 300, n = 200;  // big enough to run on several threads
  const Tensor x = rand32({rows, n}, 8, 0.9, 1.1), gy = rand32({rows, n}, 9);
  for (bool exclusive : {false, true}) {
    Tensor y_cpu = Tensor::empty({rows, n}), y_ref = Tensor::empty({rows, n});
    kernels::cpu::cumprod_rows(x.data<float>(), y_cpu.data<float>(), rows, n, exclusive);
    kernels::ref::cumprod_rows(x.data<float>(), y_ref.data<float>(), rows, n, exclusive);
    expect_tensors_close(y_cpu, y_ref, 1e-6);
    Tensor g_cpu = Tensor::empty({rows, n}), g_ref = Tensor::empty({rows, n});
    kernels::cpu::cumprod_backward_rows(x.data<float>(), gy.data<float>(), g_cpu.data<float>(), rows, n, exclusive);
    kernels::ref::cumprod_backward_rows(x.data<float>(), gy.data<float>(), g_ref.data<float>(), rows, n, exclusive);
    expect_tensors_close(g_cpu, g_ref, 1e-6);
  }
}

TEST(Cumprod, FloatGradientMatchesDouble) {
  const Tensor x64 = rand64({3, 7}, 10);
  Tensor a = x64.clone().set_requires_grad(true), b = x64.to(DType::f32).set_requires_grad(true);
  const Tensor w = rand64({3, 7}, 11);
  sum(cumprod(a, 1, true) * w).backward();
  sum(cumprod(b, 1, true) * w.to(DType::f32)).backward();
  expect_tensors_close(b.grad(), a.grad(), 1e-5);
}

TEST(Cumprod, BadInputThrows) {
  expect_error([] { cumprod(Tensor::ones({2, 3}, DType::i64)); }, {"cumprod"});
  expect_error([] { cumprod(Tensor::ones({2, 3}), 2); }, {"cumprod"});
  expect_error([] { cumprod(Tensor::scalar(2.0)); }, {"cumprod", "float32[]"});
}
