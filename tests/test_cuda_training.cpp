// test_cuda_training.cpp: a tiny MoE language model (embedding, causal attention, layer
// norm, a top-2 routed expert FFN with dispatch / grouped linear / combine, LM head,
// softmax cross-entropy, AdamW) built from the ops, trained 20 steps on the CPU and on
// the GPU from the same weights and batches: the losses agree within fp32 tolerance, and
// two GPU runs give identical losses, bit for bit. Skips itself without a CUDA device.
#include <gtest/gtest.h>

#include "moe/moe/dispatch.h"
#include "moe/ops/grouped_linear.h"
#include "moe/optim/adam.h"
#include "test_cuda_util.h"

namespace moe {
namespace {

constexpr int64_t kVocab = 16, kT = 8, kBatch = 2, kDim = 16, kHeads = 2, kExperts = 4, kTopK = 2, kHidden = 24;

struct TinyMoeLm {
  optim::NamedTensors params;
  Tensor p(const std::string& name) const {
    for (const auto& [n, t] : params)
      if (n == name) return t;
    throw Error("no parameter " + name);
  }
};

TinyMoeLm make_model(uint64_t seed, Device device) {
  Rng rng(seed);
  TinyMoeLm m;
  auto add = [&](const std::string& name, const Shape& s, double std) {
    Tensor t = to_device(Tensor::randn(s, rng, std), device).detach();
    t.set_requires_grad(true);
    m.params.emplace_back(name, t);
  };
  add("tok", {kVocab, kDim}, 0.5);
  add("pos", {kT, kDim}, 0.5);
  add("qkv", {3 * kDim, kDim}, 0.3);
  add("proj", {kDim, kDim}, 0.3);
  add("router", {kExperts, kDim}, 0.5);
  add("w1", {kExperts, kHidden, kDim}, 0.3);
  add("w2", {kExperts, kDim, kHidden}, 0.3);
  add("head", {kVocab, kDim}, 0.3);
  return m;
}

Tensor forward_loss(const TinyMoeLm& m, const Tensor& ids, const Tensor& targets) {
  const int64_t N = kBatch * kT, Dh = kDim / kHeads;
  Tensor pos_ids = Tensor::arange(kT);
  Tensor x = add(embedding(m.p("tok"), ids), embedding(m.p("pos"), pos_ids));  // (B, T, D)
  Tensor qkv = linear(layer_norm(x), m.p("qkv")).reshape({kBatch, kT, 3, kHeads, Dh}).permute({2, 0, 3, 1, 4});
  Tensor att = attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), true);  // (B, H, T, Dh)
  x = add(x, linear(att.permute({0, 2, 1, 3}).reshape({kBatch, kT, kDim}), m.p("proj")));
  // The routed FFN: top-2 of the router's softmax, experts on contiguous segments.
  Tensor h = layer_norm(x).reshape({N, kDim});
  TopK top = topk(softmax(linear(h, m.p("router")), -1), kTopK, -1);
  RoutingPlan plan = plan_token_choice(top.indices, Tensor(), kExperts);
  Tensor gates = index_select(top.values.reshape({N * kTopK}), 0, Tensor::from_vector(plan.pos_gate, {plan.num_assignments()}));
  Tensor hidden = gelu(grouped_linear(dispatch(h, plan), plan.expert_offsets, m.p("w1")));
  Tensor ffn = combine(grouped_linear(hidden, plan.expert_offsets, m.p("w2")), gates, plan);
  x = add(x, ffn.reshape({kBatch, kT, kDim}));
  Tensor logits = linear(layer_norm(x), m.p("head")).reshape({N, kVocab});
  return cross_entropy(logits, targets);
}

std::vector<double> train(Device device, uint64_t seed, int steps) {
  TinyMoeLm m = make_model(seed, device);
  optim::AdamOptions opt;
  opt.lr = 1e-2;
  opt.weight_decay = 0.01;
  optim::AdamW adam(m.params, opt);
  Rng data_rng(seed + 1);
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    std::vector<int64_t> ids(kBatch * kT), next(kBatch * kT);
    for (int64_t i = 0; i < kBatch * kT; ++i) ids[i] = data_rng.randint(0, kVocab);
    for (int64_t i = 0; i < kBatch * kT; ++i) next[i] = (ids[i] * 3 + 1) % kVocab;  // a learnable map
    Tensor ids_t = Tensor::from_vector(ids, {kBatch, kT});  // indices stay on the host (checked there)
    Tensor targets = to_device(Tensor::from_vector(next, {kBatch * kT}), device);
    adam.zero_grad();
    Tensor loss = forward_loss(m, ids_t, targets);
    loss.backward();
    adam.step();
    losses.push_back(loss.item());
  }
  return losses;
}

TEST(CudaTraining, TinyMoeLmMatchesTheCpuFor20Steps) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE(seed);
  const std::vector<double> cpu = train(Device::CPU, seed, 20), gpu = train(Device::CUDA, seed, 20);
  ASSERT_EQ(cpu.size(), gpu.size());
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_NEAR(gpu[i], cpu[i], 2e-3 * std::max(1.0, cpu[i])) << "step " << i;
  EXPECT_LT(cpu.back(), cpu.front());  // it learns
}

TEST(CudaTraining, TwoGpuRunsGiveIdenticalLosses) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE(seed);
  EXPECT_EQ(train(Device::CUDA, seed, 20), train(Device::CUDA, seed, 20));
}

}  // namespace
}  // namespace moe
