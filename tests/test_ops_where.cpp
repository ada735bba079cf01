// where and masked_fill: forward against loops with broadcasting, cond of every dtype,
// float64 gradchecks, -infinity fills that stay NaN-free through backward, errors.
#include <cmath>
#include <limits>

#include "test_util.h"

#include "moe/kernels/kernels.h"
#include "moe/ops/dispatch.h"

using namespace moe;
using namespace moe::test;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor rand_mask(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> v(numel_of(s));
  for (auto& m : v) m = rng.randint(0, 2);
  return Tensor::from_vector(v, s);
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}
}  // namespace

TEST(Where, ForwardBroadcastsLikeALoop) {
  Tensor cond = Tensor::from_vector<int64_t>({0, 3, 0}, {3, 1});  // 3: nonzero is true
  Tensor a = rand32({1, 4}, 1), b = rand32({2, 3, 4}, 2);
  Tensor out = where(cond, a, b);
  ASSERT_EQ(out.shape(), (Shape{2, 3, 4}));
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(), want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) want.push_back(j == 1 ? av[k] : bv[(i * 3 + j) * 4 + k]);
  expect_close(out, want, 0);
}

TEST(Where, CondOfEveryDtype) {
  Tensor a = Tensor::from_list({1, 2, 3, 4}, {4}), b = Tensor::from_list({-1, -2, -3, -4}, {4});
  const double nan = std::nan("");
  expect_close(where(Tensor::from_vector<int32_t>({1, 0, -2, 0}, {4}), a, b), {1, -2, 3, -4}, 0);
  expect_close(where(Tensor::from_list({0.5f, 0.0f, -0.0f, 2.0f}, {4}), a, b), {1, -2, -3, 4}, 0);
  // NaN is nonzero; 1e-300 is nonzero even though it would round to 0 in float32
  expect_close(where(Tensor::from_vector<double>({nan, 1e-300, 0.0, 0.0}, {4}), a, b), {1, 2, -3, -4}, 0);
  // a transposed a against a contiguous b
  Tensor m = rand32({3, 2}, 3);
  Tensor c = rand_mask({2, 3}, 4);
  std::vector<double> mv = m.to_vector<double>(), cv = c.to_vector<double>(), want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) want.push_back(cv[i * 3 + j] != 0 ? mv[j * 2 + i] : 7.0);
  expect_close(where(c, m.t(), Tensor::full({2, 3}, 7.0)), want, 0);
}

TEST(Where, Gradcheck) {
  auto f = [](const std::vector<Tensor>& in) { return where(in[0], in[1], in[2]); };
  EXPECT_GRADCHECK(f, {rand_mask({3, 4}, 5), rand64({3, 4}, 6), rand64({3, 4}, 7)});
  EXPECT_GRADCHECK(f, {rand_mask({2, 1, 3}, 8), rand64({4, 3}, 9), rand64({2, 1, 1}, 10)});
  EXPECT_GRADCHECK(f, {rand_mask({4}, 11), rand64({}, 12), rand64({3, 4}, 13)});
  auto ft = [](const std::vector<Tensor>& in) { return where(in[0], in[1].t(), in[2].slice(1, 0, 8, 2)); };
  EXPECT_GRADCHECK(ft, {rand_mask({3, 4}, 14), rand64({4, 3}, 15), rand64({3, 8}, 16)});
}

TEST(Where, InfiniteBranchGivesNoNan) {
  Tensor cond = rand_mask({3, 4}, 17);
  Tensor a = rand64({3, 4}, 18).set_requires_grad(true);
  Tensor b = Tensor::full({3, 4}, -kInf, DType::f64).set_requires_grad(true);
  Tensor y = exp(where(cond, a, b));
  sum(y).backward();
  EXPECT_TRUE(all_finite(a.grad()));
  EXPECT_TRUE(all_finite(b.grad()));
  EXPECT_TRUE(all_finite(y));
}

TEST(MaskedFill, ForwardMatchesLoop) {
  Tensor x = rand32({3, 4}, 19);
  Tensor mask = Tensor::from_vector<int64_t>({1, 0, 0, 1}, {1, 4});  // broadcast over rows
  Tensor out = masked_fill(x, mask, -5.0);
  std::vector<double> xv = x.to_vector<double>(), want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) want.push_back(j == 0 || j == 3 ? -5.0 : xv[i * 4 + j]);
  expect_close(out, want, 0);
  expect_close(x, xv, 0);  // out of place
  // a float mask, a transposed x
  Tensor fm = Tensor::from_list({0, 1, 0}, {3, 1});
  Tensor xt = x.t();  // (4, 3)
  std::vector<double> want_t;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) want_t.push_back(j == 1 ? 2.5 : xv[j * 4 + i]);
  expect_close(masked_fill(xt, fm.t(), 2.5), want_t, 0);
}

TEST(MaskedFill, Gradcheck) {
  auto f = [](const std::vector<Tensor>& in) { return masked_fill(in[0], in[1], 3.0); };
  EXPECT_GRADCHECK(f, {rand64({3, 4}, 20), rand_mask({3, 4}, 21)});
  EXPECT_GRADCHECK(f, {rand64({2, 3, 4}, 22), rand_mask({3, 1}, 23)});
  // A -inf fill of a transposed x; the -inf entries are then replaced by 0 so the
  // finite differences stay finite, while the backward still runs through them.
  auto finite_part = [](const std::vector<Tensor>& in) {
    Tensor y = masked_fill(in[0].t(), in[1], -kInf);
    return where(in[1], Tensor::scalar(0.0, DType::f64), y);
  };
  EXPECT_GRADCHECK(finite_part, {rand64({4, 3}, 24), rand_mask({3, 1}, 25)});
}

TEST(MaskedFill, MinusInfinityIsNanFreeForwardAndBackward) {
  // The attention pattern: scores masked with -inf, then exp (a softmax numerator).
  Tensor x = rand64({4, 4}, 26).set_requires_grad(true);
  std::vector<int64_t> causal;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) causal.push_back(j > i);
  Tensor mask = Tensor::from_vector(causal, {4, 4});
  Tensor filled = masked_fill(x, mask, -kInf);
  Tensor y = exp(filled);
  Tensor m = max(filled, 1, true);  // finite: the diagonal is never masked
  sum(y).backward();
  std::vector<double> xv = x.to_vector<double>(), g = x.grad().to_vector<double>(), fv = filled.to_vector<double>();
  for (int i = 0; i < 16; ++i) {
    EXPECT_FALSE(std::isnan(fv[i]));
    EXPECT_EQ(fv[i], causal[i] ? -kInf : xv[i]);
    EXPECT_NEAR(g[i], causal[i] ? 0.0 : std::exp(xv[i]), 1e-12);
  }
  EXPECT_TRUE(all_finite(m));
  // float32 too
  Tensor x32 = rand32({4, 4}, 27).set_requires_grad(true);
  sum(exp(masked_fill(x32, mask, -kInf))).backward();
  EXPECT_TRUE(all_finite(x32.grad()));
}

TEST(WhereKernels, CpuMatchesRef) {
  Tensor mask = rand_mask({64, 1, 700}, 28).to(DType::f32);
  Tensor a = rand32({64, 3, 1}, 29);
  const Shape shape = {64, 3, 700};
  kernels::Strided g = make_strided(shape, mask, &a);
  Tensor base = rand32(shape, 30);
  std::vector<float> out_cpu = base.to_vector<float>(), out_ref = out_cpu;
  kernels::cpu::where_into(mask.data<float>(), a.data<float>(), out_cpu.data(), g);
  kernels::ref::where_into(mask.data<float>(), a.data<float>(), out_ref.data(), g, 0, g.rows());
  EXPECT_EQ(out_cpu, out_ref);
  EXPECT_NE(out_cpu, base.to_vector<float>());
}

TEST(WhereMaskedFill, BadInputThrows) {
  Tensor x = rand32({3, 4}, 31);
  EXPECT_THROW(where(rand_mask({2, 4}, 1), x, x), Error);        // cond does not broadcast
  EXPECT_THROW(where(rand_mask({3, 4}, 1), x, rand32({3}, 1)), Error);
  EXPECT_THROW(where(rand_mask({3, 4}, 1), x, rand64({3, 4}, 1)), Error);  // dtype
  EXPECT_THROW(where(rand_mask({3, 4}, 1), rand_mask({3, 4}, 1), rand_mask({3, 4}, 1)), Error);  // int values
  EXPECT_THROW(masked_fill(x, rand_mask({2, 3, 4}, 1), 0.0), Error);  // mask larger than x
  try {
    masked_fill(x, rand_mask({4, 4}, 1), 0.0);
    ADD_FAILURE() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("masked_fill"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4, 4]"), std::string::npos) << e.what();
  }
}
