// bce_with_logits: against the textbook -(y log p + (1 - y) log(1 - p)) by a loop,
// stability at large logits, masks (broadcast, all zero), float64 gradchecks, errors.
#include <cmath>

#include "moe/ops/bce_loss.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

double bce_loop(const Tensor& logits, const Tensor& targets, const std::vector<double>& mask) {
  const std::vector<double> z = logits.to_vector<double>(), y = targets.to_vector<double>();
  double total = 0, count = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    const double p = 1 / (1 + std::exp(-z[i]));
    total += -mask[i] * (y[i] * std::log(p) + (1 - y[i]) * std::log(1 - p));
    count += mask[i];
  }
  return total / count;
}

}  // namespace

TEST(BceWithLogits, MatchesTextbookFormula) {
  const Tensor z = rand64({4, 5}, 1, -4, 4), y = rand64({4, 5}, 2, 0, 1);
  EXPECT_NEAR(bce_with_logits(z, y).item(), bce_loop(z, y, std::vector<double>(20, 1.0)), 1e-12);
  EXPECT_NEAR(bce_with_logits(z.to(DType::f32), y.to(DType::f32)).item(), bce_loop(z, y, std::vector<double>(20, 1.0)),
              1e-5);
}

TEST(BceWithLogits, MaskBroadcastsAndWeights) {
  const Tensor z = rand64({3, 2, 4}, 3, -3, 3), y = rand64({3, 2, 4}, 4, 0, 1);
  const Tensor mask = Tensor::from_vector(std::vector<double>{0, 1, 1, 0, 1, 0}, {3, 2, 1});
  std::vector<double> full;
  for (double m : mask.to_vector<double>())
    for (int k = 0; k < 4; ++k) full.push_back(m);
  EXPECT_NEAR(bce_with_logits(z, y, mask).item(), bce_loop(z, y, full), 1e-12);
}

TEST(BceWithLogits, LargeLogitsAreStable) {
  const Tensor z = Tensor::from_list({100.f, -100.f, 100.f, -100.f}, {4});
  const Tensor y = Tensor::from_list({1.f, 0.f, 0.f, 1.f}, {4});
  // Right answers cost ~0 (e^-100); wrong ones cost 100 each: mean 50, never inf/NaN.
  EXPECT_NEAR(bce_with_logits(z, y).item(), 50.0, 1e-4);
}

TEST(BceWithLogits, AllMaskedIsZeroWithZeroGradient) {
  Tensor z = rand64({2, 3}, 5).set_requires_grad(true);
  const Tensor loss = bce_with_logits(z, rand64({2, 3}, 6, 0, 1), Tensor::zeros({2, 1}, DType::f64));
  EXPECT_EQ(loss.item(), 0.0);
  loss.backward();
  expect_close(z.grad(), std::vector<double>(6, 0.0));
}

TEST(BceWithLogits, Gradcheck) {
  const Tensor mask = Tensor::from_vector(std::vector<double>{1, 0, 1}, {3, 1});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return bce_with_logits(in[0], in[1]); },
                   {rand64({3, 4}, 7, -3, 3), rand64({3, 4}, 8, 0, 1)});
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return bce_with_logits(in[0], in[1], mask); },
                   {rand64({3, 4}, 9, -3, 3), rand64({3, 4}, 10, 0, 1)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return bce_with_logits(in[0].t(), in[1]); },
                   {rand64({4, 3}, 11, -3, 3), rand64({3, 4}, 12, 0, 1)});
}

TEST(BceWithLogits, BadInputThrows) {
  expect_error([] { bce_with_logits(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})); },
               {"bce_with_logits", "[2, 3]", "[3, 2]"});
  expect_error([] { bce_with_logits(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}, DType::f64)); }, {"bce_with_logits"});
  expect_error([] { bce_with_logits(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}), Tensor::zeros({3, 3})); },
               {"bce_with_logits"});
  expect_error([] { bce_with_logits(Tensor::zeros({2, 3}, DType::i64), Tensor::zeros({2, 3}, DType::i64)); },
               {"bce_with_logits"});
}
