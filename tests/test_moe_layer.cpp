// The MoE layer: every router x expert kind through a float64 gradient check; k = E and
// dense_softmax against a naive weighted sum of all experts; expert choice capacity;
// capacity drops; noisy routing only in training; bias balancing; determinism; errors.
#include <cmath>

#include "moe/moe/moe_layer.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

MoEConfig make_config(const std::string& router, const std::string& expert, int64_t E = 4, int64_t k = 2) {
  MoEConfig c;
  c.d_model = 5;
  c.num_experts = E;
  c.router.kind = router;
  c.router.top_k = k;
  c.expert.kind = expert;
  c.expert.d_ff = 6;
  c.expert.rank = 2;
  c.expert.activation = "gelu";
  if (router == "expert_choice") c.router.capacity_factor = 1.0;
  if (router == "fixed") c.router.table = {0, 1, 2, 3, 1, 0, 2};
  return c;
}

// Every expert applied to every token, expert by expert (no dispatch): (E, N, D).
std::vector<Tensor> all_experts_naive(const MoELayer& layer, const Tensor& x) {
  const int64_t E = layer.config().num_experts, N = x.size(0);
  std::vector<Tensor> out;
  for (int64_t e = 0; e < E; ++e) {
    std::vector<int64_t> off(E + 1, 0);
    for (int64_t j = e + 1; j <= E; ++j) off[j] = N;  // all rows in segment e
    out.push_back(layer.experts().forward(x, off));
  }
  return out;
}

// Gradcheck of the layer w.r.t. x and every parameter; the aux loss's gradient too.
void gradcheck_layer(MoELayer& layer, const Tensor& x, const RouteInputs& in) {
  expect_module_gradcheck(layer, {x}, [&](const std::vector<Tensor>& v) {
    Tensor y = layer.forward(v[0], in);
    Tensor aux = layer.aux_loss();
    return aux.defined() ? add(y, aux) : y;
  });
}

}  // namespace

TEST(MoELayer, GradcheckEveryRouterAndExpertKind) {
  for (std::string router : {"dense_softmax", "topk", "noisy_topk", "switch", "expert_choice", "fixed", "hash"})
    for (std::string expert : {"ffn", "swiglu", "lowrank"}) {
      SCOPED_TRACE(router + " x " + expert);
      MoEConfig c = make_config(router, expert);
      if (router == "topk" || router == "switch") c.router.switch_loss = 0.1, c.router.z_loss = 0.01;
      if (router == "noisy_topk") c.router.importance_loss = 0.1, c.router.load_loss = 0.1;
      if (router == "expert_choice" || router == "dense_softmax") c.router.uniform_mse_loss = 0.5;
      Rng rng(7);
      MoELayer layer(c, rng, DType::f64);
      RouteInputs in;
      in.noise = rand64({7, 4}, 8);                                       // a fixed noise draw
      in.ids = Tensor::from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6}, {7});  // fixed / hash
      gradcheck_layer(layer, rand64({7, 5}, 9), in);
    }
}

TEST(MoELayer, TopkWithAllExpertsAndDenseSoftmaxEqualTheNaiveWeightedSum) {
  for (std::string router : {"topk", "dense_softmax"}) {
    SCOPED_TRACE(router);
    MoEConfig c = make_config(router, "ffn", 4, 4);
    c.router.topk_norm = "softmax_all";
    Rng rng(3);
    MoELayer layer(c, rng, DType::f64);
    Tensor x = rand64({6, 5}, 4);
    Tensor y = layer.forward(x);
    Tensor probs = softmax(linear(x, layer.parameter("router.gate.weight")), -1);
    std::vector<Tensor> per = all_experts_naive(layer, x);
    Tensor want = Tensor::zeros({6, 5}, DType::f64);
    for (int64_t e = 0; e < 4; ++e) want = add(want, mul(per[e], probs.slice(1, e, e + 1)));
    expect_tensors_close(y, want, 1e-12);
  }
}

TEST(MoELayer, TopkNormalisations) {
  Tensor x = rand64({5, 5}, 2);
  auto gates_of = [&](const std::string& norm) {
    MoEConfig c = make_config("topk", "ffn", 4, 2);
    c.router.topk_norm = norm;
    Rng rng(3);
    MoELayer layer(c, rng, DType::f64);
    layer.forward(x);
    return std::make_pair(layer.last_routing(), Tensor(layer.last_routing().logits));
  };
  for (std::string norm : {"softmax_topk", "softmax_all", "softmax_all_renorm"}) {
    auto [r, logits] = gates_of(norm);
    // Recompute each assignment's gate by hand.
    std::vector<double> lg = logits.to_vector<double>(), gates = r.gates.to_vector<double>();
    std::vector<int64_t> ex = r.experts.to_vector<int64_t>();
    for (int64_t p = 0; p < r.plan.num_assignments(); ++p) {
      const int64_t t = r.plan.pos_token[p], a = r.plan.pos_gate[p], e = ex[a];
      double all = 0, sel = 0;
      for (int64_t j = 0; j < 4; ++j) all += std::exp(lg[t * 4 + j]);
      for (int64_t s = 0; s < 2; ++s) sel += std::exp(lg[t * 4 + ex[t * 2 + s]]);
      double want = norm == "softmax_all" ? std::exp(lg[t * 4 + e]) / all : std::exp(lg[t * 4 + e]) / sel;
      EXPECT_NEAR(gates[p], want, 1e-12) << norm;  // renormalised softmax_all == softmax over the k
    }
  }
}

TEST(MoELayer, ExpertChoiceProcessesExactlyCapacity) {
  MoEConfig c = make_config("expert_choice", "ffn", 4, 2);
  c.router.capacity_factor = 0;
  c.router.expert_capacity = 3;
  Rng rng(1);
  MoELayer layer(c, rng);
  layer.forward(rand32({10, 5}, 2));
  for (int64_t n : layer.stats().tokens_per_expert) EXPECT_EQ(n, 3);
  // capacity_factor: C = round(cf * N * k / E) = round(1.0 * 10 * 2 / 4) = 5
  c.router.expert_capacity = 0;
  c.router.capacity_factor = 1.0;
  MoELayer layer2(c, rng);
  layer2.forward(rand32({10, 5}, 3));
  for (int64_t n : layer2.stats().tokens_per_expert) EXPECT_EQ(n, 5);
}

TEST(MoELayer, CapacityDropsPassThroughAsZero) {
  MoEConfig c = make_config("topk", "ffn", 4, 1);
  c.router.capacity_factor = 0.5;  // C = ceil(0.5 * 12 * 1 / 4) = 2
  Rng rng(1);
  MoELayer layer(c, rng, DType::f64);
  Tensor x = rand64({12, 5}, 5);
  Tensor y = layer.forward(x);
  const RoutingStats& s = layer.stats();
  EXPECT_EQ(s.dropped, 12 - [&] {
    int64_t kept = 0;
    for (int64_t n : s.tokens_per_expert) kept += std::min<int64_t>(n, 2);
    return kept;
  }());
  EXPECT_GT(s.dropped, 0);
  const RoutingPlan& p = layer.last_routing().plan;
  for (int64_t t = 0; t < 12; ++t)
    if (p.token_offsets[t] == p.token_offsets[t + 1])
      for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(y.at({t, j}), 0.0);  // dropped: only the residual remains
  EXPECT_EQ(s.tokens_unrouted, s.dropped);
}

TEST(MoELayer, NoisyRoutingIsNoisyOnlyInTraining) {
  MoEConfig c = make_config("noisy_topk", "ffn", 8, 2);
  Rng rng(1);
  MoELayer layer(c, rng);
  Tensor x = rand32({64, 5}, 2);
  Rng r1(10), r2(11);
  RouteInputs a, b;
  a.rng = &r1, b.rng = &r2;
  layer.forward(x, a);
  auto ex_a = layer.last_routing().experts.to_vector<int64_t>();
  layer.forward(x, b);
  auto ex_b = layer.last_routing().experts.to_vector<int64_t>();
  EXPECT_NE(ex_a, ex_b);
  layer.eval();
  layer.forward(x);  // no generator needed in eval
  auto e1 = layer.last_routing().experts.to_vector<int64_t>();
  layer.forward(x);
  EXPECT_EQ(e1, layer.last_routing().experts.to_vector<int64_t>());
  layer.train();
  EXPECT_THROW(layer.forward(x), Error);  // training noise without a generator
}

TEST(MoELayer, BiasBalancingMovesLoadTowardUniform) {
  MoEConfig c = make_config("topk", "ffn", 4, 1);
  c.router.bias_update_rate = 0.05;
  Rng rng(1);
  MoELayer layer(c, rng);
  // Skew the router: expert 0's logit gets a large positive weight on feature 0.
  Tensor w = layer.parameter("router.gate.weight");
  w.copy_(rand32({4, 5}, 9, -0.5, 0.5));
  w.select(0, 0).select(0, 0).fill_(3.0);
  Tensor x = rand32({256, 5}, 3, -1.0, 1.0);
  x.select(1, 0).fill_(1.0);  // every token prefers expert 0
  NoGradGuard no_grad;
  layer.forward(x);
  const double start_cv = layer.stats().load_cv;
  EXPECT_EQ(layer.stats().tokens_per_expert[0], 256);
  for (int i = 0; i < 200; ++i) layer.forward(x);
  EXPECT_LT(layer.stats().load_cv, 0.5 * start_cv);
  EXPECT_GT(layer.router().expert_bias()[1], 0.0);
  EXPECT_LT(layer.router().expert_bias()[0], 0.0);
}

TEST(MoELayer, ForcedRoutingReplays) {
  MoEConfig c = make_config("topk", "ffn", 4, 2);
  Rng rng(2);
  MoELayer layer(c, rng);
  Tensor x = rand32({6, 5}, 4);
  layer.forward(x);
  Tensor recorded = layer.last_routing().experts;
  Tensor y = layer.forward(x);
  RouteInputs in;
  in.forced_experts = recorded;
  EXPECT_EQ(layer.forward(x, in).to_vector<float>(), y.to_vector<float>());
  in.forced_experts = Tensor::from_vector<int64_t>({3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2}, {6, 2});
  layer.forward(x, in);
  EXPECT_EQ(layer.stats().tokens_per_expert, (std::vector<int64_t>{0, 0, 6, 6}));
}

TEST(MoELayer, DeterministicAndSharedExperts) {
  MoEConfig c = make_config("noisy_topk", "swiglu", 4, 2);
  c.num_shared_experts = 1;
  auto run = [&] {
    Rng rng(5);
    MoELayer layer(c, rng);
    RouteInputs in;
    in.rng = &rng;
    Tensor x = rand32({300, 5}, 6).set_requires_grad(true);
    Tensor y = layer.forward(x, in);
    sum(square(y)).backward();
    return std::make_pair(y.to_vector<float>(), x.grad().to_vector<float>());
  };
  EXPECT_EQ(run(), run());
  Rng rng(5);
  MoELayer layer(c, rng);
  EXPECT_TRUE(layer.named_parameters().size() > 0);
  EXPECT_NO_THROW(layer.parameter("shared.w1"));
  // active: router (gate + noise) + 2 experts + 1 shared
  const int64_t per_expert = 3 * 5 * 6;
  EXPECT_EQ(layer.active_parameters_per_token(), 2 * 4 * 5 + 2 * per_expert + per_expert);
}

TEST(MoELayer, ConfigErrors) {
  Rng rng(1);
  auto bad = [&](auto mutate) {
    MoEConfig c = make_config("topk", "ffn");
    mutate(c);
    EXPECT_THROW(MoELayer(c, rng), Error);
  };
  bad([](MoEConfig& c) { c.router.kind = "top2"; });
  bad([](MoEConfig& c) { c.router.top_k = 5; });
  bad([](MoEConfig& c) { c.router.topk_norm = "sparsemax"; });
  bad([](MoEConfig& c) { c.router.load_loss = 0.1; });  // needs noisy_topk
  bad([](MoEConfig& c) { c.router.kind = "expert_choice"; });  // no capacity
  bad([](MoEConfig& c) { c.router.kind = "fixed"; });  // no table
  bad([](MoEConfig& c) { c.router.kind = "fixed", c.router.table = {0, 9}; });
  bad([](MoEConfig& c) { c.expert.kind = "conv"; });
  MoEConfig c = make_config("topk", "ffn");
  MoELayer layer(c, rng);
  EXPECT_THROW(layer.forward(Tensor::zeros({3, 4})), Error);
  MoEConfig f = make_config("fixed", "ffn");
  MoELayer fixed(f, rng);
  EXPECT_THROW(fixed.forward(Tensor::zeros({3, 5})), Error);  // no ids
}

TEST(MoELayer, ExpertChoicePerTokenModeIsCausal) {
  MoEConfig c = make_config("expert_choice", "ffn", 4, 2);
  Rng rng(1);
  MoELayer layer(c, rng, DType::f64);
  layer.router().set_expert_choice_per_token(true);
  Tensor x = rand64({6, 5}, 2);
  Tensor y = layer.forward(x);
  // Per token: each token's output depends on itself only (routing by its own scores).
  Tensor y_prefix = layer.forward(x.slice(0, 0, 3));
  expect_tensors_close(y.slice(0, 0, 3), y_prefix, 1e-12);
  for (int64_t n : layer.stats().tokens_per_expert) EXPECT_LE(n, 3);
  EXPECT_EQ(layer.last_routing().plan.num_assignments(), 3 * 2);  // top_k = 2 per token
  // Batch mode: the prefix's routing changes with the tokens after it in general, and
  // every expert takes exactly C = round(1.0 * N * 2 / 4) tokens.
  layer.router().set_expert_choice_per_token(false);
  layer.forward(x);
  for (int64_t n : layer.stats().tokens_per_expert) EXPECT_EQ(n, 3);
  EXPECT_GRADCHECK(
      [&](const std::vector<Tensor>& in) {
        layer.router().set_expert_choice_per_token(true);
        return layer.forward(in[0]);
      },
      {x});
}
