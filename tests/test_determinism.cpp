// Determinism: the same seed and thread count give bit-identical parameters after N
// training steps (init, dropout, router noise and batching all from one seed).
#include "moe/moe/moe_layer.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// Trains an MoE layer (noisy routing, expert dropout) plus a linear head for `steps`
// AdamW steps and returns every parameter's values.
std::vector<std::vector<float>> train_run(uint64_t seed, int steps) {
  Rng rng(seed);
  MoEConfig c;
  c.d_model = 16;
  c.num_experts = 4;
  c.router.kind = "noisy_topk";
  c.router.top_k = 2;
  c.router.importance_loss = 0.01;
  c.expert.d_ff = 32;
  c.expert.dropout = 0.1;
  MoELayer layer(c, rng);
  nn::Linear head(16, 3, rng);
  auto params = layer.named_parameters();
  for (auto& p : head.named_parameters()) params.push_back({"head." + p.first, p.second});
  optim::AdamW opt(params, {.lr = 1e-2, .weight_decay = 0.01});
  for (int s = 0; s < steps; ++s) {
    Tensor x = Tensor::randn({64, 16}, rng);
    std::vector<int64_t> y(64);
    for (auto& v : y) v = rng.randint(0, 3);
    RouteInputs in;
    in.rng = &rng;
    opt.zero_grad();
    Tensor logits = head(add(x, layer.forward(x, in)));
    Tensor loss = add(cross_entropy(logits, Tensor::from_vector(y, {64})), layer.aux_loss());
    loss.backward();
    opt.step();
  }
  std::vector<std::vector<float>> out;
  for (auto& [n, p] : params) out.push_back(p.to_vector<float>());
  return out;
}

}  // namespace

TEST(Determinism, SameSeedSameParametersAfterTraining) {
  auto a = train_run(42, 20), b = train_run(42, 20);
  EXPECT_EQ(a, b);
  auto c = train_run(43, 20);
  EXPECT_NE(a, c);
}
