// Stacked experts: each kind equals its per-expert module applied segment by segment;
// float64 gradchecks w.r.t. the input and every stacked weight.
#include "moe/moe/experts.h"
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
  if (c.kind == "swiglu") return matmul(mul(silu(matmul(x, w("w1").t())), matmul(x, w("w3").t())), w("w2").t());
  Tensor h = activation(c.bias ? linear(x, w("w1"), w("b1")) : linear(x, w("w1")), c.activation);
  return c.bias ? linear(h, w("w2"), w("b2")) : linear(h, w("w2"));
}

std::vector<ExpertConfig> configs() {
  ExpertConfig ffn{"ffn", 5, 7, 0, "gelu", true, 0.0};
  ExpertConfig ffn_nobias{"ffn", 5, 7, 0, "relu", false, 0.0};
  ExpertConfig swiglu{"swiglu", 5, 6, 0, "silu", false, 0.0};
  ExpertConfig lowrank{"lowrank", 5, 0, 2, "relu", true, 0.0};
  return {ffn, ffn_nobias, swiglu, lowrank};
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
