// layer_norm and rms_norm: forward against plain loops, float64 gradchecks with and
// without weight/bias at several shapes (contiguous and transposed), cpu:: kernels
// against ref:: (forward and backward, on several threads), determinism, errors.
#include <cmath>

#include "moe/kernels/kernels.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// Layer norm (rms = false) or RMS norm (rms = true) of the rows of x by loops;
// w, b empty for none.
std::vector<double> norm_loop(const Tensor& x, const std::vector<double>& w, const std::vector<double>& b,
                              double eps, bool rms) {
  const int64_t C = x.size(-1), rows = x.numel() / C;
  std::vector<double> v = x.to_vector<double>(), y(v.size());
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = v.data() + r * C;
    double mean = 0, var = 0;
    if (!rms) {
      for (int64_t j = 0; j < C; ++j) mean += xr[j] / C;
    }
    for (int64_t j = 0; j < C; ++j) var += (xr[j] - mean) * (xr[j] - mean) / C;
    for (int64_t j = 0; j < C; ++j) {
      double out = (xr[j] - mean) / std::sqrt(var + eps);
      if (!w.empty()) out *= w[j];
      if (!b.empty()) out += b[j];
      y[r * C + j] = out;
    }
  }
  return y;
}

}  // namespace

TEST(LayerNorm, ForwardMatchesLoop) {
  Tensor x = rand64({2, 3, 7}, 1, -2, 3), w = rand64({7}, 2), b = rand64({7}, 3);
  const auto wv = w.to_vector<double>(), bv = b.to_vector<double>();
  expect_close(layer_norm(x), norm_loop(x, {}, {}, 1e-5, false), 1e-12);
  expect_close(layer_norm(x, w), norm_loop(x, wv, {}, 1e-5, false), 1e-12);
  expect_close(layer_norm(x, Tensor(), b), norm_loop(x, {}, bv, 1e-5, false), 1e-12);
  expect_close(layer_norm(x, w, b, 0.1), norm_loop(x, wv, bv, 0.1, false), 1e-12);
  expect_close(layer_norm(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32)), norm_loop(x, wv, bv, 1e-5, false),
               1e-5);
  Tensor xt = rand64({5, 4}, 4).t();  // strided input
  expect_close(layer_norm(xt), norm_loop(xt, {}, {}, 1e-5, false), 1e-12);
}

TEST(RmsNorm, ForwardMatchesLoop) {
  Tensor x = rand64({2, 3, 7}, 5, -2, 3), w = rand64({7}, 6);
  expect_close(rms_norm(x), norm_loop(x, {}, {}, 1e-6, true), 1e-12);
  expect_close(rms_norm(x, w, 0.01), norm_loop(x, w.to_vector<double>(), {}, 0.01, true), 1e-12);
  expect_close(rms_norm(x.to(DType::f32), w.to(DType::f32)), norm_loop(x, w.to_vector<double>(), {}, 1e-6, true),
               1e-5);
  Tensor xt = rand64({5, 4}, 7).t();
  expect_close(rms_norm(xt), norm_loop(xt, {}, {}, 1e-6, true), 1e-12);
}

TEST(LayerNorm, Gradcheck) {
  // Inputs are x, weight, bias; an undefined weight or bias is left out of the call.
  for (int with_w = 0; with_w < 2; ++with_w)
    for (int with_b = 0; with_b < 2; ++with_b) {
      auto f = [=](const std::vector<Tensor>& in) {
        return layer_norm(in[0], with_w ? in[1] : Tensor(), with_b ? in[2] : Tensor(), 1e-3);
      };
      auto ft = [=](const std::vector<Tensor>& in) {
        return layer_norm(in[0].t(), with_w ? in[1] : Tensor(), with_b ? in[2] : Tensor(), 1e-3);
      };
      SCOPED_TRACE(testing::Message() << "weight " << with_w << " bias " << with_b);
      EXPECT_GRADCHECK(f, {rand64({3, 5}, 10), rand64({5}, 11), rand64({5}, 12)});
      EXPECT_GRADCHECK(f, {rand64({2, 3, 7}, 13), rand64({7}, 14), rand64({7}, 15)});
      EXPECT_GRADCHECK(ft, {rand64({6, 4}, 16), rand64({6}, 17), rand64({6}, 18)});
      EXPECT_GRADCHECK(f, {rand64({4, 1}, 19), rand64({1}, 20), rand64({1}, 21)});  // C = 1: xhat is 0
    }
}

TEST(RmsNorm, Gradcheck) {
  for (int with_w = 0; with_w < 2; ++with_w) {
    auto f = [=](const std::vector<Tensor>& in) { return rms_norm(in[0], with_w ? in[1] : Tensor(), 1e-3); };
    auto ft = [=](const std::vector<Tensor>& in) { return rms_norm(in[0].t(), with_w ? in[1] : Tensor(), 1e-3); };
    SCOPED_TRACE(testing::Message() << "weight " << with_w);
    EXPECT_GRADCHECK(f, {rand64({3, 5}, 30), rand64({5}, 31)});
    EXPECT_GRADCHECK(f, {rand64({2, 3, 7}, 32), rand64({7}, 33)});
    EXPECT_GRADCHECK(ft, {rand64({6, 4}, 34), rand64({6}, 35)});
  }
}

TEST(LayerNorm, OnlyParametersRequireGrad) {
  // x is data (no grad); the weight and bias still get theirs.
  Tensor x = rand64({4, 3}, 40), w = rand64({3}, 41).set_requires_grad(true), b = rand64({3}, 42).set_requires_grad(true);
  sum(layer_norm(x, w, b)).backward();
  expect_close(b.grad(), {4, 4, 4}, 1e-12);
  std::vector<double> y = norm_loop(x, {}, {}, 1e-5, false), want(3, 0.0);
  for (size_t i = 0; i < y.size(); ++i) want[i % 3] += y[i];
  expect_close(w.grad(), want, 1e-12);
}

namespace {

struct NormCase {
  int64_t rows, C;
};

// Runs the cpu and ref float32 kernels on the same data and compares every output.
void compare_norm_kernels(int64_t rows, int64_t C, bool rms) {
  Tensor x = rand32({rows, C}, 50, -2, 2), w = rand32({C}, 51), b = rand32({C}, 52), gy = rand32({rows, C}, 53);
  Tensor y_cpu = Tensor::empty({rows, C}), y_ref = Tensor::empty({rows, C});
  Tensor mean_cpu = Tensor::empty({rows}), mean_ref = Tensor::empty({rows});
  Tensor rstd_cpu = Tensor::empty({rows}), rstd_ref = Tensor::empty({rows});
  Tensor gx_cpu = Tensor::empty({rows, C}), gx_ref = Tensor::empty({rows, C});
  Tensor gw_cpu = Tensor::empty({C}), gw_ref = Tensor::empty({C}), gb_cpu = Tensor::empty({C}),
         gb_ref = Tensor::empty({C});
  const float *px = x.data<float>(), *pw = w.data<float>(), *pb = b.data<float>(), *pg = gy.data<float>();
  if (rms) {
    kernels::cpu::rms_norm_rows(px, pw, y_cpu.data<float>(), rstd_cpu.data<float>(), rows, C, 1e-6f);
    kernels::ref::rms_norm_rows(px, pw, y_ref.data<float>(), rstd_ref.data<float>(), rows, C, 1e-6f);
    kernels::cpu::rms_norm_backward_rows(px, pw, rstd_ref.data<float>(), pg, gx_cpu.data<float>(),
                                         gw_cpu.data<float>(), rows, C);
    kernels::ref::rms_norm_backward_rows(px, pw, rstd_ref.data<float>(), pg, gx_ref.data<float>(),
                                         gw_ref.data<float>(), rows, C);
  } else {
    kernels::cpu::layer_norm_rows(px, pw, pb, y_cpu.data<float>(), mean_cpu.data<float>(), rstd_cpu.data<float>(),
                                  rows, C, 1e-5f);
    kernels::ref::layer_norm_rows(px, pw, pb, y_ref.data<float>(), mean_ref.data<float>(), rstd_ref.data<float>(),
                                  rows, C, 1e-5f);
    expect_tensors_close(mean_cpu, mean_ref, 1e-6);
    kernels::cpu::layer_norm_backward_rows(px, pw, mean_ref.data<float>(), rstd_ref.data<float>(), pg,
                                           gx_cpu.data<float>(), gw_cpu.data<float>(), gb_cpu.data<float>(), rows, C);
    kernels::ref::layer_norm_backward_rows(px, pw, mean_ref.data<float>(), rstd_ref.data<float>(), pg,
                                           gx_ref.data<float>(), gw_ref.data<float>(), gb_ref.data<float>(), rows, C);
    expect_tensors_close(gb_cpu, gb_ref, 1e-4);  // partial sums in another order
  }
  expect_tensors_close(y_cpu, y_ref, 1e-6);
  expect_tensors_close(rstd_cpu, rstd_ref, 1e-6);
  expect_tensors_close(gx_cpu, gx_ref, 1e-6);
  expect_tensors_close(gw_cpu, gw_ref, 1e-4);
}

}  // namespace

TEST(NormKernels, CpuMatchesRef) {
  // Small (one chunk, written in place) and large (per-thread partials), with fewer
  // rows than threads too.
  for (NormCase c : {NormCase{3, 5}, NormCase{300, 64}, NormCase{1, 40000}, NormCase{517, 33}}) {
    SCOPED_TRACE(testing::Message() << "rows " << c.rows << " C " << c.C);
    compare_norm_kernels(c.rows, c.C, false);
    compare_norm_kernels(c.rows, c.C, true);
  }
}

TEST(NormKernels, CpuBackwardIsDeterministic) {
  const int64_t rows = 400, C = 96;
  auto grads = [&] {
    Tensor x = rand32({rows, C}, 60).set_requires_grad(true), w = rand32({C}, 61).set_requires_grad(true),
           b = rand32({C}, 62).set_requires_grad(true);
    sum(mul(layer_norm(x, w, b), rand32({rows, C}, 63))).backward();
    return std::make_pair(w.grad().to_vector<float>(), b.grad().to_vector<float>());
  };
  auto first = grads();
  for (int run = 0; run < 3; ++run) EXPECT_EQ(grads(), first);  // bit for bit
}

TEST(NormKernels, FloatGradientsMatchDouble) {
  Tensor x = rand64({64, 48}, 70, -2, 2), w = rand64({48}, 71), b = rand64({48}, 72), gy = rand64({64, 48}, 73);
  auto run = [&](DType dt) {
    Tensor xs = x.to(dt).set_requires_grad(true), ws = w.to(dt).set_requires_grad(true),
           bs = b.to(dt).set_requires_grad(true);
    sum(mul(add(layer_norm(xs, ws, bs), rms_norm(xs, ws)), gy.to(dt))).backward();
    return std::vector<Tensor>{xs.grad(), ws.grad(), bs.grad()};
  };
  std::vector<Tensor> g32 = run(DType::f32), g64 = run(DType::f64);
  for (size_t i = 0; i < g32.size(); ++i) expect_tensors_close(g32[i], g64[i], 1e-4);
}

TEST(Norm, BadInputThrows) {
  Tensor x = Tensor::zeros({2, 4});
  EXPECT_THROW(layer_norm(x, Tensor::ones({3})), Error);                 // weight length
  EXPECT_THROW(layer_norm(x, Tensor::ones({4}), Tensor::ones({2, 4})), Error);  // bias rank
  EXPECT_THROW(layer_norm(x, Tensor::ones({4}, DType::f64)), Error);     // dtype mismatch
  EXPECT_THROW(layer_norm(Tensor::zeros({2, 4}, DType::i64)), Error);
  EXPECT_THROW(layer_norm(Tensor::scalar(1.0)), Error);                  // no last dim
  EXPECT_THROW(rms_norm(x, Tensor::ones({5})), Error);
  EXPECT_THROW(rms_norm(Tensor::zeros({2, 4}, DType::i32)), Error);
  try {
    rms_norm(x, Tensor::ones({5}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("rms_norm"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[5]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 4]"), std::string::npos) << msg;
  }
}
