// Each auxiliary loss against its formula computed by hand on a small fixed input,
// plus float64 gradchecks.
#include <cmath>

#include "moe/moe/aux_losses.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(AuxLoss, SwitchLossByHand) {
  // 4 tokens, 2 experts, k = 1.
  Tensor probs = Tensor::from_vector<double>({0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4}, {4, 2});
  Tensor ex = Tensor::from_vector<int64_t>({0, 0, 1, 0}, {4, 1});
  // f = (3/4, 1/4); P = (2.6/4, 1.4/4); loss = 2 * (0.75 * 0.65 + 0.25 * 0.35) = 1.15
  EXPECT_NEAR(switch_loss(probs, ex).item(), 1.15, 1e-12);
}

TEST(AuxLoss, SwitchLossIsOneWhenPerfectlyBalanced) {
  // Uniform probabilities and every expert chosen equally often (k = 2, all choices count).
  const int64_t N = 8, E = 4;
  Tensor probs = Tensor::full({N, E}, 0.25, DType::f64);
  std::vector<int64_t> ex;
  for (int64_t t = 0; t < N; ++t) ex.push_back(t % E), ex.push_back((t + 1) % E);
  EXPECT_NEAR(switch_loss(probs, Tensor::from_vector(ex, {N, 2})).item(), 1.0, 1e-12);
}

TEST(AuxLoss, ImportanceAndLossCV) {
  Tensor gates = Tensor::from_vector<double>({0.5, 0.5, 0.0, 1.0, 0.0, 0.0}, {2, 3});
  // importance = (0.5, 1.5, 0): mean 2/3, var = ((1/6)^2 + (5/6)^2 + (2/3)^2) / 3 = 7/18
  EXPECT_NEAR(importance_loss(gates).item(), (7.0 / 18.0) / (4.0 / 9.0), 1e-9);
  EXPECT_NEAR(load_loss(Tensor::from_vector<double>({2, 2, 2}, {3})).item(), 0.0, 1e-12);
  EXPECT_NEAR(load_loss(Tensor::zeros({3}, DType::f64)).item(), 0.0, 1e-12);  // no NaN
}

TEST(AuxLoss, UniformMseAndZLoss) {
  Tensor probs = Tensor::from_vector<double>({0.7, 0.3, 0.5, 0.5}, {2, 2});
  // P = (0.6, 0.4): ((0.1)^2 + (0.1)^2) / 2 = 0.01
  EXPECT_NEAR(uniform_mse_loss(probs).item(), 0.01, 1e-12);
  Tensor logits = Tensor::from_vector<double>({1, 2, 3, -1, 0, 1000}, {2, 3});
  double l0 = std::log(std::exp(1) + std::exp(2) + std::exp(3));
  double l1 = 1000.0;  // stable: no overflow
  EXPECT_NEAR(z_loss(logits).item(), (l0 * l0 + l1 * l1) / 2, 1e-6);
}

TEST(AuxLoss, Gradchecks) {
  Tensor ex = Tensor::from_vector<int64_t>({0, 2, 1, 1}, {4, 1});
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return switch_loss(in[0], ex); }, {rand64({4, 3}, 1, 0, 1)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return importance_loss(in[0]); }, {rand64({4, 3}, 2, 0, 1)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return uniform_mse_loss(in[0]); }, {rand64({4, 3}, 3, 0, 1)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return z_loss(in[0]); }, {rand64({4, 3}, 4)});
}
