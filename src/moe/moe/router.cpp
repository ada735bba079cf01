// router.cpp: the routing schemes; see router.h for the definitions.
#include "moe/moe/router.h"

#include <cmath>

#include "moe/autograd/autograd.h"
#include "moe/moe/aux_losses.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/index.h"
#include "moe/ops/reduce.h"
#include "moe/ops/softmax.h"
#include "moe/ops/topk.h"
#include "moe/ops/where.h"

namespace moe {

namespace {

bool is_token_choice(const std::string& kind) {
  return kind == "topk" || kind == "noisy_topk" || kind == "switch" || kind == "dense_softmax";
}

// splitmix64: a fixed, well-mixed hash of an id (hash routing).
uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Tensor index_tensor(const std::vector<int64_t>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

}  // namespace

Router::Router(const RouterConfig& c, int64_t d_model, int64_t E, Rng& rng, DType dtype)
    : config_(c), d_model_(d_model), num_experts_(E), expert_bias_(E, 0.0) {
  const std::string& k = c.kind;
  MOE_CHECK(E >= 1, "router: need at least one expert, got {}", E);
  MOE_CHECK(is_token_choice(k) || k == "expert_choice" || k == "fixed" || k == "hash",
            "router: unknown kind '{}' (expected dense_softmax, fixed, hash, topk, noisy_topk, switch or "
            "expert_choice)",
            k);
  if (k == "topk" || k == "noisy_topk" || k == "expert_choice")
    MOE_CHECK(c.top_k >= 1 && c.top_k <= E, "router: top_k must be in [1, {}], got {}", E, c.top_k);
  if (k == "noisy_topk" && c.load_loss > 0)
    MOE_CHECK(c.top_k < E, "router: the noisy top-k load loss needs top_k < num_experts ({} >= {})", c.top_k, E);
  MOE_CHECK(c.topk_norm == "softmax_topk" || c.topk_norm == "softmax_all" || c.topk_norm == "softmax_all_renorm",
            "router: unknown topk_norm '{}' (expected softmax_topk, softmax_all or softmax_all_renorm)", c.topk_norm);
  MOE_CHECK(c.capacity_factor >= 0, "router: capacity_factor must be >= 0, got {}", c.capacity_factor);
  if (k == "expert_choice") {
    MOE_CHECK(c.expert_capacity > 0 || c.capacity_factor > 0,
              "router: expert_choice needs expert_capacity > 0 or capacity_factor > 0");
    MOE_CHECK(c.bias_update_rate == 0, "router: expert_choice is balanced by construction; bias_update_rate must be 0");
  }
  if (k == "fixed") {
    MOE_CHECK(!c.table.empty(), "router: the fixed router needs a table (id -> expert)");
    for (size_t i = 0; i < c.table.size(); ++i)
      MOE_CHECK(c.table[i] >= 0 && c.table[i] < E, "router: table[{}] = {} is not an expert in [0, {})", i, c.table[i], E);
  }
  const bool learned = k != "fixed" && k != "hash";
  MOE_CHECK(learned || (c.switch_loss == 0 && c.importance_loss == 0 && c.load_loss == 0 && c.z_loss == 0 &&
                        c.uniform_mse_loss == 0 && c.bias_update_rate == 0),
            "router: the {} router has no learned scores: aux losses and bias balancing must be 0", k);
  MOE_CHECK(c.load_loss == 0 || k == "noisy_topk", "router: load_loss needs the noisy_topk router (its noise "
                                                    "scale defines the smooth load estimate), got '{}'", k);
  MOE_CHECK(c.switch_loss == 0 || is_token_choice(k), "router: switch_loss needs a token-choice router, got '{}'", k);
  if (learned) gate_ = register_module("gate", std::make_shared<nn::Linear>(d_model, E, rng, false, dtype));
  if (k == "noisy_topk") noise_ = register_module("noise", std::make_shared<nn::Linear>(d_model, E, rng, false, dtype));
}

int64_t Router::experts_per_token() const {
  const std::string& k = config_.kind;
  if (k == "dense_softmax") return num_experts_;
  if (k == "fixed" || k == "hash" || k == "switch") return 1;
  return config_.top_k;
}

void Router::set_expert_bias(std::vector<double> bias) {
  MOE_CHECK(static_cast<int64_t>(bias.size()) == num_experts_, "router: expert bias has {} entries for {} experts",
            bias.size(), num_experts_);
  expert_bias_ = std::move(bias);
}

RouterOutput Router::forward(const Tensor& x, const RouteInputs& in) {
  MOE_CHECK(x.dim() == 2 && x.size(1) == d_model_, "router: input must be (tokens, {}), got {}", d_model_, x.str());
  if (config_.kind == "fixed" || config_.kind == "hash") return route_by_id(x, in);
  if (config_.kind == "expert_choice") return route_expert_choice(x);
  return route_token_choice(x, in);
}

RouterOutput Router::route_token_choice(const Tensor& x, const RouteInputs& in) {
  const int64_t N = x.size(0), E = num_experts_, k = experts_per_token();
  const std::string& kind = config_.kind;
  RouterOutput out;
  out.logits = gate_->forward(x);
  out.probs = softmax(out.logits, -1);
  Tensor scores = out.logits, noise_std;
  if (kind == "noisy_topk" && is_training()) {
    noise_std = softplus(noise_->forward(x));
    Tensor eps = in.noise;
    if (!eps.defined()) {
      MOE_CHECK(in.rng != nullptr, "router: noisy_topk in training needs a generator (or a fixed noise draw)");
      eps = Tensor::randn({N, E}, *in.rng, 1.0, x.dtype());
    }
    MOE_CHECK(eps.shape() == (Shape{N, E}), "router: noise must be ({}, {}), got {}", N, E, eps.str());
    scores = add(out.logits, mul(eps, noise_std));
  }

  Tensor g;  // (N, k) gate weights of the chosen experts
  if (kind == "dense_softmax") {
    std::vector<int64_t> all(N * E);
    for (int64_t i = 0; i < N * E; ++i) all[i] = i % E;
    out.experts = Tensor::from_vector(all, {N, E});
    g = out.probs;
  } else {
    if (in.forced_experts.defined()) {
      MOE_CHECK(in.forced_experts.shape() == (Shape{N, k}) && in.forced_experts.dtype() == DType::i64,
                "router: forced experts must be int64 ({}, {}), got {}", N, k, in.forced_experts.str());
      out.experts = in.forced_experts;
    } else {
      Tensor select = scores.detach();
      if (config_.bias_update_rate > 0)  // selection only: the gates below use unbiased scores
        select = add(select, Tensor::from_vector(expert_bias_, {E}).to(x.dtype()));
      out.experts = topk(select, k, -1).indices;
    }
    const std::string norm = kind == "switch" ? "softmax_all" : kind == "noisy_topk" ? "softmax_topk" : config_.topk_norm;
    if (norm == "softmax_topk") {
      g = softmax(gather(scores, 1, out.experts), -1);
    } else {
      g = gather(kind == "noisy_topk" ? softmax(scores, -1) : out.probs, 1, out.experts);
      if (norm == "softmax_all_renorm") g = div(g, sum(g, {1}, true));
    }
  }
  const int64_t capacity =
      config_.capacity_factor > 0 ? static_cast<int64_t>(std::ceil(config_.capacity_factor * N * k / E)) : -1;
  out.plan = plan_token_choice(out.experts, g.detach(), E, capacity);
  out.gates = index_select(g.reshape({-1}), 0, index_tensor(out.plan.pos_gate));

  Tensor load;
  if (config_.load_loss > 0 && noise_std.defined()) {
    // Shazeer 2017 eq. 8-9: P(token, i) = Phi((clean_i - threshold_i) / noise_std_i), the
    // threshold being the k-th largest noisy score among the others.
    TopK top = topk(scores, k + 1, -1);
    Tensor thr_in = top.values.slice(1, k, k + 1), thr_out = top.values.slice(1, k - 1, k);
    Tensor is_in = gt(scores.detach(), thr_in.detach());
    Tensor p_in = normal_cdf(div(sub(out.logits, thr_in), noise_std));
    Tensor p_out = normal_cdf(div(sub(out.logits, thr_out), noise_std));
    load = sum(where(is_in, p_in, p_out), {0});
  }
  Tensor dense_gates;
  if (config_.importance_loss > 0)
    dense_gates = kind == "dense_softmax" ? g : scatter_add(Tensor::zeros({N, E}, x.dtype()), 1, out.experts, g);
  add_aux_losses(out, dense_gates, load);
  if (is_training() && config_.bias_update_rate > 0) update_bias(out.plan);
  return out;
}

RouterOutput Router::route_expert_choice(const Tensor& x) {
  const int64_t N = x.size(0), E = num_experts_;
  RouterOutput out;
  out.logits = gate_->forward(x);
  out.probs = softmax(out.logits, -1);  // S: over experts, per token
  if (ec_per_token_) {  // each token alone: its top_k experts by S, gates S[t, e]
    out.experts = topk(out.probs.detach(), config_.top_k, -1).indices;
    Tensor g = gather(out.probs, 1, out.experts);
    out.plan = plan_token_choice(out.experts, Tensor(), E);
    out.gates = index_select(g.reshape({-1}), 0, index_tensor(out.plan.pos_gate));
    add_aux_losses(out, config_.importance_loss > 0
                            ? scatter_add(Tensor::zeros({N, E}, x.dtype()), 1, out.experts, g)
                            : Tensor(),
                   Tensor());
    return out;
  }
  const int64_t C = config_.expert_capacity > 0
                        ? config_.expert_capacity
                        : static_cast<int64_t>(std::llround(config_.capacity_factor * N * config_.top_k / E));
  out.plan = plan_expert_choice(out.probs.detach(), C);
  out.gates = index_select(out.probs.reshape({-1}), 0, index_tensor(out.plan.pos_gate));
  Tensor dense_gates;
  if (config_.importance_loss > 0)
    dense_gates = index_add(Tensor::zeros({N * E}, x.dtype()), 0, index_tensor(out.plan.pos_gate), out.gates)
                      .reshape({N, E});
  add_aux_losses(out, dense_gates, Tensor());
  return out;
}

RouterOutput Router::route_by_id(const Tensor& x, const RouteInputs& in) {
  const int64_t N = x.size(0), E = num_experts_;
  MOE_CHECK(in.ids.defined() && in.ids.dim() == 1 && in.ids.size(0) == N,
            "router: the {} router needs one int64 id per token ({}), got {}", config_.kind, N,
            in.ids.defined() ? in.ids.str() : "none");
  std::vector<int64_t> ids = in.ids.to_vector<int64_t>(), ex(N);
  std::vector<double> onehot(N * E, 0.0);
  for (int64_t t = 0; t < N; ++t) {
    if (config_.kind == "fixed") {
      MOE_CHECK(ids[t] >= 0 && ids[t] < static_cast<int64_t>(config_.table.size()),
                "router: token {} has id {}, outside the fixed table of {} entries", t, ids[t], config_.table.size());
      ex[t] = config_.table[ids[t]];
    } else {
      ex[t] = static_cast<int64_t>(mix64(static_cast<uint64_t>(ids[t])) % static_cast<uint64_t>(E));
    }
    onehot[t * E + ex[t]] = 1.0;
  }
  RouterOutput out;
  out.experts = Tensor::from_vector(ex, {N, 1});
  out.probs = Tensor::from_vector(onehot, {N, E}).to(x.dtype());
  out.plan = plan_token_choice(out.experts, Tensor(), E);
  out.gates = Tensor::ones({out.plan.num_assignments()}, x.dtype());
  return out;
}

void Router::add_aux_losses(RouterOutput& out, const Tensor& dense_gates, const Tensor& load) {
  auto add_term = [&](const char* name, double coef, const Tensor& value) {
    out.aux_values[name] = value.item();
    Tensor term = mul(value, coef);
    out.aux_loss = out.aux_loss.defined() ? add(out.aux_loss, term) : term;
  };
  const RouterConfig& c = config_;
  if (c.switch_loss > 0) add_term("switch", c.switch_loss, switch_loss(out.probs, out.experts));
  if (c.importance_loss > 0) add_term("importance", c.importance_loss, importance_loss(dense_gates));
  if (c.load_loss > 0 && load.defined()) add_term("load", c.load_loss, load_loss(load));
  if (c.uniform_mse_loss > 0) add_term("uniform_mse", c.uniform_mse_loss, uniform_mse_loss(out.probs));
  if (c.z_loss > 0) add_term("z", c.z_loss, z_loss(out.logits));
}

void Router::update_bias(const RoutingPlan& plan) {
  const int64_t E = num_experts_;
  const double mean_load = static_cast<double>(plan.num_assignments()) / E;
  for (int64_t e = 0; e < E; ++e) {
    const double load = static_cast<double>(plan.tokens_of_expert(e));
    expert_bias_[e] += config_.bias_update_rate * ((mean_load > load) - (mean_load < load));
  }
}

}  // namespace moe
