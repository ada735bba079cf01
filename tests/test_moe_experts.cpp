// Stacked experts: each kind equals its per-expert module applied segment by segment;
// float64 gradchecks w.r.t. the input and every stacked weight; an MoE layer over mlp
// experts whose output width differs from d_model.
#include "moe/moe/experts.h"
#include "moe/moe/moe_layer.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// Expert e of the stack applied to rows x (n, D) with plain ops (the reference).
Tensor one_expert(const Experts& ex, int64_t e, const Tensor& x) {
  const ExpertConfig& c = ex.config();
  auto w = [&](const char* name) { return ex.parameter(name).select(0, e); };
  if (c.kind == "lowrank") {
    Tensor y = matmul(matmul(x, w("v").t()), w("u").t());
    return c.bias ? add(y, w("b")) : y;
  }
  if (c.kind == "mlp") {  // Linear layers with the activation between them
    Tensor h = x;
    for (size_t l = 0; l <= c.hidden.size(); ++l) {
      const std::string i = std::to_string(l);
      h = c.bias ? linear(h, w(("w" + i).c_str()), w(("b" + i).c_str())) : linear(h, w(("w" + i).c_str()));
      if (l < c.hidden.size()) h = activation(h, c.activation);
    }
    return h;
  }
  if (c.kind == "swiglu") return matmul(mul(silu(matmul(x, w("w1").t())), matmul(x, w("w3").t())), w("w2").t());
  Tensor h = activation(c.bias ? linear(x, w("w1"), w("b1")) : linear(x, w("w1")), c.activation);
  return c.bias ? linear(h, w("w2"), w("b2")) : linear(h, w("w2"));
}

std::vector<ExpertConfig> configs() {
  ExpertConfig ffn{"ffn", 5, 7, 0, "gelu", true, 0.0};
  ExpertConfig ffn_nobias{"ffn", 5, 7, 0, "relu", false, 0.0};
  ExpertConfig swiglu{"swiglu", 5, 6, 0, "silu", false, 0.0};
  ExpertConfig lowrank{"lowrank", 5, 0, 2, "relu", true, 0.0};
  ExpertConfig mlp{"mlp", 5, 0, 0, "tanh", true, 0.0, {6, 4}, 3};      // 5 -> 6 -> 4 -> 3
  ExpertConfig mlp_nobias{"mlp", 5, 0, 0, "relu", false, 0.0, {7}, 0};  // 5 -> 7 -> 5
  return {ffn, ffn_nobias, swiglu, lowrank, mlp, mlp_nobias};
}

}  // namespace

TEST(Experts, MatchPerExpertReference) {
  const std::vector<int64_t> off{0, 3, 3, 7, 8};  // expert 1 gets nothing
  for (const ExpertConfig& c : configs()) {
    SCOPED_TRACE(c.kind + "/" + c.activation);
    Rng rng(1);
    Experts ex(c, 4, rng, DType::f64);
    Tensor x = rand64({8, 5}, 2);
    Tensor y = ex.forward(x, off);
    for (int64_t e = 0; e < 4; ++e) {
      if (off[e] == off[e + 1]) continue;
      expect_tensors_close(y.slice(0, off[e], off[e + 1]), one_expert(ex, e, x.slice(0, off[e], off[e + 1])), 1e-12);
    }
  }
}

TEST(Experts, ParameterNamesAndCounts) {
  Rng rng(1);
  Experts ffn(configs()[0], 4, rng);
  std::vector<std::string> names;
  for (auto& [n, t] : ffn.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"w1", "b1", "w2", "b2"}));
  EXPECT_EQ(ffn.parameter("w1").shape(), (Shape{4, 7, 5}));
  EXPECT_EQ(ffn.parameter("w2").shape(), (Shape{4, 5, 7}));
  EXPECT_EQ(ffn.num_parameters(), 4 * (7 * 5 + 7 + 5 * 7 + 5));
  EXPECT_EQ(ffn.macs_per_token(), 2 * 5 * 7);
  Experts sw(configs()[2], 3, rng);
  EXPECT_EQ(sw.num_parameters(), 3 * 3 * 5 * 6);
  EXPECT_THROW(Experts(ExpertConfig{"moe", 4, 4}, 2, rng), Error);
  EXPECT_THROW(Experts(ExpertConfig{"ffn", 4, 0}, 2, rng), Error);
  EXPECT_THROW(Experts(ExpertConfig{"ffn", 4, 4, 0, "swish"}, 2, rng), Error);
  EXPECT_THROW(Experts(ExpertConfig{"lowrank", 4, 0, 0}, 2, rng), Error);
}

TEST(Experts, MlpNamesShapesAndWidths) {
  Rng rng(1);
  Experts ex(configs()[4], 4, rng);
  std::vector<std::string> names;
  for (auto& [n, t] : ex.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"w0", "b0", "w1", "b1", "w2", "b2"}));
  EXPECT_EQ(ex.parameter("w0").shape(), (Shape{4, 6, 5}));
  EXPECT_EQ(ex.parameter("w1").shape(), (Shape{4, 4, 6}));
  EXPECT_EQ(ex.parameter("w2").shape(), (Shape{4, 3, 4}));
  EXPECT_EQ(ex.parameter("b2").shape(), (Shape{4, 3}));
  EXPECT_EQ(ex.num_parameters(), 4 * (6 * 5 + 6 + 4 * 6 + 4 + 3 * 4 + 3));
  EXPECT_EQ(ex.macs_per_token(), 6 * 5 + 4 * 6 + 3 * 4);
  EXPECT_EQ(ex.forward(rand32({7, 5}, 2), {0, 2, 2, 5, 7}).shape(), (Shape{7, 3}));
  EXPECT_EQ(configs()[5].output_width(), 5);  // d_out 0 = d_model
  EXPECT_THROW(Experts(ExpertConfig{"mlp", 4, 0, 0, "relu", true, 0.0, {}, 3}, 2, rng), Error);
  EXPECT_THROW(Experts(ExpertConfig{"mlp", 4, 0, 0, "relu", true, 0.0, {0}, 3}, 2, rng), Error);
  EXPECT_THROW(Experts(ExpertConfig{"mlp", 4, 0, 0, "swish", true, 0.0, {3}, 3}, 2, rng), Error);
}

TEST(Experts, Gradcheck) {
  const std::vector<int64_t> off{0, 2, 2, 5};
  for (const ExpertConfig& c : configs()) {
    SCOPED_TRACE(c.kind);
    Rng rng(3);
    Experts ex(c, 3, rng, DType::f64);
    expect_module_gradcheck(ex, {rand64({5, 5}, 4, -1, 1)}, [&](const auto& in) { return ex.forward(in[0], off); });
  }
}

TEST(Experts, DropoutOnlyInTraining) {
  ExpertConfig c{"ffn", 4, 16, 0, "relu", true, 0.5};
  Rng rng(1);
  Experts ex(c, 2, rng);
  Tensor x = rand32({6, 4}, 2);
  Rng r1(5), r2(5);
  Tensor a = ex.forward(x, {0, 3, 6}, &r1), b = ex.forward(x, {0, 3, 6}, &r2);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());  // same seed, same mask
  ex.eval();
  Tensor e1 = ex.forward(x, {0, 3, 6}), e2 = ex.forward(x, {0, 3, 6});
  EXPECT_EQ(e1.to_vector<float>(), e2.to_vector<float>());
  EXPECT_NE(a.to_vector<float>(), e1.to_vector<float>());
}

// mlp experts with d_out != d_model: the layer's output is (N, d_out), equal to the
// probability-weighted sum of every expert when k = E (softmax_topk over all E logits),
// with shared experts of the same width added; and its gradients check.
TEST(Experts, MoELayerWithNarrowerMlpOutput) {
  MoEConfig c;
  c.d_model = 5;
  c.num_experts = 4;
  c.router.kind = "topk";
  c.router.top_k = 4;
  c.router.switch_loss = 0.1;
  c.expert = configs()[4];  // 5 -> 6 -> 4 -> 3
  Rng rng(3);
  MoELayer layer(c, rng, DType::f64);
  Tensor x = rand64({6, 5}, 4);
  Tensor y = layer.forward(x);
  ASSERT_EQ(y.shape(), (Shape{6, 3}));
  Tensor probs = softmax(linear(x, layer.parameter("router.gate.weight")), -1);
  Tensor want = Tensor::zeros({6, 3}, DType::f64);
  for (int64_t e = 0; e < 4; ++e)
    want = add(want, mul(one_expert(layer.experts(), e, x), probs.slice(1, e, e + 1)));
  expect_tensors_close(y, want, 1e-12);

  c.router.top_k = 2;
  c.num_shared_experts = 1;
  MoELayer top2(c, rng, DType::f64);
  EXPECT_EQ(top2.forward(rand64({2, 3, 5}, 5)).shape(), (Shape{2, 3, 3}));
  expect_module_gradcheck(top2, {rand64({5, 5}, 6, -1, 1)}, [&](const auto& in) {
    Tensor out = top2.forward(in[0]);
    return add(sum(mul(out, out)), top2.aux_loss());
  });
}
