// cross_entropy (fused) and mse_loss: forward against plain loops, fused equals
// composed (log_softmax + a one-hot pick built by a loop here), float64 gradchecks,
// ignore_index, the all-ignored batch, cpu:: kernels against ref::, errors.
#include <cmath>

#include "moe/kernels/kernels.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

Tensor targets_of(const std::vector<int64_t>& t) {
  return Tensor::from_vector(t, {static_cast<int64_t>(t.size())});
}

// Mean over non-ignored rows of logsumexp(row) - row[target], by loops.
double cross_entropy_loop(const Tensor& logits, const std::vector<int64_t>& targets, int64_t ignore_index) {
  const int64_t N = logits.size(0), C = logits.size(1);
  std::vector<double> x = logits.to_vector<double>();
  double total = 0;
  int64_t count = 0;
  for (int64_t r = 0; r < N; ++r) {
    if (targets[r] == ignore_index) continue;
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, x[r * C + c]);
    for (int64_t c = 0; c < C; ++c) s += std::exp(x[r * C + c] - m);
    total += m + std::log(s) - x[r * C + targets[r]];
    ++count;
  }
  return count ? total / count : 0.0;
}

// The unfused reference: -sum(log_softmax(logits) * onehot) / count, with the one-hot
// pick (zero rows for ignored targets) written as a loop.
Tensor composed_cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets, int64_t ignore_index) {
  const int64_t N = logits.size(0), C = logits.size(1);
  std::vector<double> onehot(N * C, 0.0);
  int64_t count = 0;
  for (int64_t r = 0; r < N; ++r)
    if (targets[r] != ignore_index) onehot[r * C + targets[r]] = 1.0, ++count;
  Tensor pick = Tensor::from_vector(onehot, {N, C}).to(logits.dtype());
  return mul(sum(mul(log_softmax(logits, -1), pick)), -1.0 / std::max<int64_t>(count, 1));
}

}  // namespace

TEST(CrossEntropy, ForwardMatchesLoop) {
  Tensor logits = rand64({6, 5}, 1, -3, 3);
  std::vector<int64_t> t{0, 4, -100, 2, 3, 1};
  EXPECT_NEAR(cross_entropy(logits, targets_of(t)).item(), cross_entropy_loop(logits, t, -100), 1e-12);
  EXPECT_NEAR(cross_entropy(logits.to(DType::f32), targets_of(t)).item(), cross_entropy_loop(logits, t, -100), 1e-6);
  std::vector<int64_t> t7{0, 4, 7, 2, 7, 1};  // a custom ignore_index
  EXPECT_NEAR(cross_entropy(logits, targets_of(t7), 7).item(), cross_entropy_loop(logits, t7, 7), 1e-12);
  EXPECT_EQ(cross_entropy(logits, targets_of(t)).dim(), 0);
}

TEST(CrossEntropy, LargeLogitsAreStable) {
  Tensor logits = Tensor::from_list({1000, 1001, 1002, -1000, 0, 50}, {2, 3});
  std::vector<int64_t> t{1, 0};
  const double want = cross_entropy_loop(logits.to(DType::f64), t, -100);
  EXPECT_NEAR(cross_entropy(logits, targets_of(t)).item(), want, 1e-5);
}

TEST(CrossEntropy, FusedEqualsComposedValuesAndGradients) {
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
    std::vector<int64_t> t{3, -100, 0, 6, 6, 2, -100, 1};
    Tensor base = rand64({8, 7}, 2, -4, 4).to(dt);
    Tensor a = base.clone().detach().set_requires_grad(true), b = base.clone().detach().set_requires_grad(true);
    Tensor fused = cross_entropy(a, targets_of(t)), composed = composed_cross_entropy(b, t, -100);
    EXPECT_NEAR(fused.item(), composed.item(), tol);
    mul(fused, 2.5).backward();  // a non-unit upstream gradient
    mul(composed, 2.5).backward();
    expect_tensors_close(a.grad(), b.grad(), tol);
  }
}

TEST(CrossEntropy, Gradcheck) {
  auto ce = [](std::vector<int64_t> t) {
    return [t](const std::vector<Tensor>& in) { return cross_entropy(in[0], targets_of(t)); };
  };
  EXPECT_GRADCHECK(ce({0, 4, 2}), {rand64({3, 5}, 10, -2, 2)});
  EXPECT_GRADCHECK(ce({1, -100, 6, 0}), {rand64({4, 7}, 11, -2, 2)});
  EXPECT_GRADCHECK(ce({0, 0, 1, 1, 1}), {rand64({5, 2}, 12, -2, 2)});
  // Transposed logits: a (3, 5) view of a (5, 3) leaf.
  auto transposed = [](const std::vector<Tensor>& in) { return cross_entropy(in[0].t(), targets_of({4, 0, 2})); };
  EXPECT_GRADCHECK(transposed, {rand64({5, 3}, 13, -2, 2)});
  auto sliced = [](const std::vector<Tensor>& in) {
    return cross_entropy(in[0].slice(1, 1, 7), targets_of({5, 0, 3}));
  };
  EXPECT_GRADCHECK(sliced, {rand64({3, 8}, 14, -2, 2)});
}

// PyTorch gives NaN (0/0) here; we define the loss as 0 with zero gradients (see loss.h).
TEST(CrossEntropy, AllIgnoredGivesZeroLossAndZeroGrads) {
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor logits = rand64({3, 4}, 20).to(dt).set_requires_grad(true);
    Tensor loss = cross_entropy(logits, targets_of({-100, -100, -100}));
    EXPECT_EQ(loss.item(), 0.0);
    loss.backward();
    expect_close(logits.grad(), std::vector<double>(12, 0.0), 0.0);
  }
  Tensor empty = Tensor::zeros({0, 4}, DType::f64).set_requires_grad(true);
  Tensor loss = cross_entropy(empty, Tensor::zeros({0}, DType::i64));
  EXPECT_EQ(loss.item(), 0.0);
  loss.backward();
  EXPECT_EQ(empty.grad().numel(), 0);
}

TEST(CrossEntropy, IgnoredRowsGetNoGradient) {
  Tensor logits = rand64({3, 4}, 21).set_requires_grad(true);
  cross_entropy(logits, targets_of({2, -100, 1})).backward();
  for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(logits.grad().at({1, c}), 0.0);
  // Each kept row's gradient sums to zero (softmax sums to one, the one-hot to one).
  for (int64_t r : {0, 2}) {
    double s = 0;
    for (int64_t c = 0; c < 4; ++c) s += logits.grad().at({r, c});
    EXPECT_NEAR(s, 0.0, 1e-12);
  }
}

TEST(CrossEntropy, CpuKernelsMatchRef) {
  const int64_t N = 300, C = 97;  // enough work for several threads
  Tensor logits = rand32({N, C}, 30, -6, 6);
  std::vector<int64_t> t(N);
  for (int64_t r = 0; r < N; ++r) t[r] = r % 11 == 0 ? -100 : (r * 7) % C;
  Tensor loss_cpu = Tensor::empty({N}), lse_cpu = Tensor::empty({N}), loss_ref = Tensor::empty({N}),
         lse_ref = Tensor::empty({N});
  kernels::cpu::cross_entropy_rows(logits.data<float>(), t.data(), loss_cpu.data<float>(), lse_cpu.data<float>(), N,
                                   C, -100);
  kernels::ref::cross_entropy_rows(logits.data<float>(), t.data(), loss_ref.data<float>(), lse_ref.data<float>(), N,
                                   C, int64_t{-100});
  expect_tensors_close(loss_cpu, loss_ref, 1e-6);
  expect_tensors_close(lse_cpu, lse_ref, 1e-6);
  Tensor g_cpu = Tensor::empty({N, C}), g_ref = Tensor::empty({N, C});
  kernels::cpu::cross_entropy_backward_rows(logits.data<float>(), t.data(), lse_ref.data<float>(), 0.5f,
                                            g_cpu.data<float>(), N, C, -100);
  kernels::ref::cross_entropy_backward_rows(logits.data<float>(), t.data(), lse_ref.data<float>(), 0.5f,
                                            g_ref.data<float>(), N, C, int64_t{-100});
  expect_tensors_close(g_cpu, g_ref, 1e-6);
}

TEST(CrossEntropy, BadInputThrows) {
  Tensor logits = Tensor::zeros({3, 4});
  try {
    cross_entropy(logits, targets_of({0, 4, 1}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cross_entropy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("target 4 at row 1"), std::string::npos) << msg;
  }
  EXPECT_THROW(cross_entropy(logits, targets_of({0, -1, 1})), Error);           // negative, not ignore_index
  EXPECT_THROW(cross_entropy(logits, targets_of({0, 1})), Error);               // N mismatch
  EXPECT_THROW(cross_entropy(logits, Tensor::zeros({3}, DType::i32)), Error);   // int32 targets
  EXPECT_THROW(cross_entropy(logits, Tensor::zeros({3}, DType::f32)), Error);   // float targets
  EXPECT_THROW(cross_entropy(Tensor::zeros({3}), targets_of({0, 1, 2})), Error);  // 1-D logits
  EXPECT_THROW(cross_entropy(Tensor::zeros({3, 4}, DType::i64), targets_of({0, 1, 2})), Error);
  EXPECT_THROW(cross_entropy(Tensor::zeros({3, 0}), targets_of({0, 1, 2})), Error);  // no classes
}

TEST(MseLoss, ForwardMatchesLoop) {
  Tensor pred = rand64({4, 3}, 40), target = rand64({4, 3}, 41);
  std::vector<double> p = pred.to_vector<double>(), t = target.to_vector<double>();
  double want = 0;
  for (size_t i = 0; i < p.size(); ++i) want += (p[i] - t[i]) * (p[i] - t[i]);
  want /= static_cast<double>(p.size());
  EXPECT_NEAR(mse_loss(pred, target).item(), want, 1e-12);
  EXPECT_NEAR(mse_loss(pred.to(DType::f32), target.to(DType::f32)).item(), want, 1e-6);
  EXPECT_EQ(mse_loss(pred, target).dim(), 0);
}

TEST(MseLoss, GradcheckBothInputs) {
  auto f = [](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); };
  EXPECT_GRADCHECK(f, {rand64({3, 5}, 50), rand64({3, 5}, 51)});
  EXPECT_GRADCHECK(f, {rand64({2, 3, 7}, 52), rand64({2, 3, 7}, 53)});
  auto transposed = [](const std::vector<Tensor>& in) { return mse_loss(in[0].t(), in[1]); };
  EXPECT_GRADCHECK(transposed, {rand64({5, 3}, 54), rand64({3, 5}, 55)});
}

TEST(MseLoss, BadInputThrows) {
  EXPECT_THROW(mse_loss(Tensor::zeros({3}), Tensor::zeros({3, 1})), Error);  // no silent broadcast
  EXPECT_THROW(mse_loss(Tensor::zeros({3}), Tensor::zeros({3}, DType::f64)), Error);
  EXPECT_THROW(mse_loss(Tensor::zeros({3}, DType::i64), Tensor::zeros({3}, DType::i64)), Error);
}
