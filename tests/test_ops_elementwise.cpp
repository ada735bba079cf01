// Elementwise ops: forward against plain loops, float64 gradchecks with broadcasting
// and non-contiguous views, comparisons, errors.
#include <cmath>
#include <functional>

#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // input range (away from kinks and domain edges)
};

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -2, 2},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.5, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.5, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -2, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sig, -4, 4},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -2, 2},
      {"gelu", [](const Tensor& x) { return gelu(x); },
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, -3, 3},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sig(x); }, -3, 3},
      {"softplus", [](const Tensor& x) { return softplus(x); }, [](double x) { return std::log1p(std::exp(x)); }, -3, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); }, -2, 2},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -2, 2},
      {"normal_cdf", [](const Tensor& x) { return normal_cdf(x); },
       [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }, -3, 3},
      {"pow1.5", [](const Tensor& x) { return pow(x, 1.5); }, [](double x) { return std::pow(x, 1.5); }, 0.5, 2},
  };
}

// Moves values within 0.05 of zero away from it: relu/abs have a kink there.
Tensor away_from_zero(Tensor x) {
  double* p = x.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i)
    if (std::abs(p[i]) < 0.05) p[i] = p[i] < 0 ? -0.1 : 0.1;
  return x;
}

}  // namespace

TEST(Unary, ForwardMatchesReference) {
  for (const auto& c : unary_cases()) {
    for (DType dt : {DType::f32, DType::f64}) {
      Tensor x = rand64({3, 37}, 11, c.lo, c.hi).to(dt);
      std::vector<double> xs = x.to_vector<double>(), want;
      for (double v : xs) want.push_back(c.ref(v));
      SCOPED_TRACE(c.name);
      expect_close(c.op(x), want, dt == DType::f32 ? 1e-5 : 1e-12);
    }
  }
}

TEST(Unary, LargeTensorUsesThreadsAndStaysExact) {
  for (const auto& c : unary_cases()) {
    Tensor x = rand64({200000}, 12, c.lo, c.hi);
    Tensor y32 = c.op(x.to(DType::f32));
    Tensor y64 = c.op(x);
    SCOPED_TRACE(c.name);
    expect_tensors_close(y32, y64, 1e-5);
  }
}

TEST(Unary, Gradcheck) {
  for (const auto& c : unary_cases()) {
    SCOPED_TRACE(c.name);
    Tensor x = away_from_zero(rand64({4, 5}, 13, c.lo, c.hi));
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x});
    // Non-contiguous input.
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return c.op(in[0].t()); }, {x});
  }
}

TEST(Unary, StableAtExtremes) {
  Tensor x = Tensor::from_list({-100.f, 100.f}, {2});
  expect_close(sigmoid(x), {0, 1});
  expect_close(softplus(x), {0, 100});
  for (double v : silu(x).to_vector<double>()) EXPECT_TRUE(std::isfinite(v));
}

TEST(Binary, BroadcastForward) {
  Tensor a = Tensor::from_list({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_list({10, 20, 30}, {3});
  Tensor c = Tensor::from_list({100, 200}, {2, 1});
  expect_close(add(a, b), {11, 22, 33, 14, 25, 36});
  expect_close(add(a, c), {101, 102, 103, 204, 205, 206});
  expect_close(sub(b, a), {9, 18, 27, 6, 15, 24});
  expect_close(mul(a, c), {100, 200, 300, 800, 1000, 1200});
  expect_close(div(a, b), {0.1, 0.1, 0.1, 0.4, 0.25, 0.2});
  expect_close(add(b, c), {110, 120, 130, 210, 220, 230});  // (3) + (2,1) -> (2,3)
  expect_close(maximum(a, Tensor::scalar(3.5)), {3.5, 3.5, 3.5, 4, 5, 6});
  expect_close(minimum(a, Tensor::scalar(3.5)), {1, 2, 3, 3.5, 3.5, 3.5});
  expect_close(a * 2.0 + 1.0, {3, 5, 7, 9, 11, 13});
  expect_close(1.0 - a, {0, -1, -2, -3, -4, -5});
  expect_close(a / 2.0, {0.5, 1, 1.5, 2, 2.5, 3});
}

TEST(Binary, NonContiguousAndGenericStrides) {
  Tensor base = Tensor::arange(60, DType::f64).reshape({3, 4, 5});
  Tensor a = base.permute({2, 0, 1});          // (5, 3, 4)
  Tensor b = base.slice(2, 0, 5, 2).slice(1, 0, 1);  // (3, 1, 3): stride 2 innermost
  Tensor r = add(a.slice(0, 0, 3), b.permute({0, 2, 1}).slice(1, 0, 3));
  // Check every element against at().
  Tensor a3 = a.slice(0, 0, 3);
  Tensor b3 = b.permute({0, 2, 1}).slice(1, 0, 3);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k)
        ASSERT_DOUBLE_EQ(r.at({i, j, k}), a3.at({i, j, k}) + b3.at({i, j, 0}));
}

TEST(Binary, Comparisons) {
  Tensor a = Tensor::from_list({1, 2, 3}, {3});
  Tensor b = Tensor::from_list({2, 2, 2}, {3});
  expect_close(eq(a, b), {0, 1, 0});
  expect_close(ne(a, b), {1, 0, 1});
  expect_close(lt(a, b), {1, 0, 0});
  expect_close(le(a, b), {1, 1, 0});
  expect_close(gt(a, b), {0, 0, 1});
  expect_close(ge(a, b), {0, 1, 1});
  Tensor x = a.detach();
  x.impl()->requires_grad = true;
  EXPECT_FALSE(gt(x, b).requires_grad());
}

TEST(Binary, Gradcheck) {
  using F = std::function<Tensor(const Tensor&, const Tensor&)>;
  std::vector<std::pair<const char*, F>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
  };
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 1}}, {{}, {2, 3}}};
  for (auto& [name, op] : ops)
    for (auto& [sa, sb] : shapes) {
      SCOPED_TRACE(std::string(name) + " " + shape_str(sa) + " " + shape_str(sb));
      Tensor a = rand64(sa, 21, 0.5, 2.0), b = rand64(sb, 22, -2.0, -0.5);  // no ties, b != 0
      EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return op(in[0], in[1]); }, {a, b});
    }
  // Transposed operand.
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return mul(in[0].t(), in[1]); },
                   {rand64({4, 3}, 23), rand64({3, 4}, 24)});
  // Scalar forms.
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return (2.0 - in[0] * 3.0) / 4.0 + 1.0; }, {rand64({5}, 25)});
}

TEST(Binary, Errors) {
  EXPECT_THROW(add(Tensor::zeros({2, 3}), Tensor::zeros({4})), Error);
  EXPECT_THROW(add(Tensor::zeros({2}), Tensor::zeros({2}, DType::f64)), Error);
  try {
    mul(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mul"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[3, 2]"), std::string::npos);
  }
  EXPECT_THROW(exp(Tensor::zeros({2}, DType::i64)), Error);
  EXPECT_THROW(add(Tensor(), Tensor::zeros({2})), Error);  // was a segfault
  EXPECT_THROW(mul(Tensor::zeros({2}), Tensor()), Error);
  EXPECT_THROW(exp(Tensor()), Error);
  EXPECT_THROW(activation(Tensor::zeros({2}), "swish"), Error);
}

TEST(Kernels, CpuBinaryMatchesRefOnManyGeometries) {
  // cpu:: runs ref:: on row chunks: check the chunking on shapes big enough to thread.
  set_num_threads(2);
  Tensor a = rand32({64, 33, 40}, 31), b = rand32({33, 1}, 32);
  Tensor got = add(a, b);
  Tensor want = add(a.to(DType::f64), b.to(DType::f64));
  expect_tensors_close(got, want, 1e-6);
  Tensor c = mul(a.permute({2, 0, 1}), Tensor::scalar(2.0f));
  expect_tensors_close(c, mul(a.to(DType::f64).permute({2, 0, 1}), 2.0), 1e-6);
}
