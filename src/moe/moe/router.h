// router.h: every routing scheme of moe.cpp behind one Router, chosen by name.
//
//   dense_softmax  every expert, weighted by softmax(x W_r) (NeuroShard v2)
//   fixed          a given table id -> expert, gate 1 (NeuroShard v1's keyword router)
//   hash           expert = hash(id) mod E, gate 1 (Roller et al. 2021, hash layers)
//   topk           token choice, k of E; `topk_norm` picks the gate normalisation:
//                    softmax_topk        softmax over the k selected logits (Mixtral)
//                    softmax_all         softmax over all E, keep the k (GShard/Switch)
//                    softmax_all_renorm  the same, renormalised to sum to 1 per token
//   noisy_topk     Shazeer et al. 2017: H = x W_g + eps * softplus(x W_noise), eps ~ N(0,1)
//                  in training only; top k of H; softmax over the k kept (eq. 3-5)
//   switch         top-1 with gate = softmax_all probability (Fedus et al. 2021)
//   expert_choice  Zhou et al. 2022: S = softmax(x W_r) over experts; expert e takes the
//                  C tokens with the highest S[:, e]; C = expert_capacity if set, else
//                  round(capacity_factor * N * top_k / E). A token may be taken by 0..E
//                  experts; a token taken by none contributes nothing (the block's
//                  residual carries it unchanged). Because the choice is made across the
//                  whole batch, a token's route depends on the tokens after it: a causal
//                  LM cannot use it one token at a time. set_expert_choice_mode(per_token)
//                  routes each token alone instead, to its top_k experts by the same
//                  scores S with gates S[t, e] (generation uses this; eval reports both).
//
// Token-choice routers run dropless unless capacity_factor > 0; then each expert takes
// at most C = ceil(capacity_factor * N * k / E) assignments and drops the lowest gate
// scores first (counted in the plan, never silent).
//
// Balancing: each aux loss has its own coefficient (0 = off; see aux_losses.h), and
// bias_update_rate > 0 turns on aux-loss-free balancing (Wang et al. 2024, DeepSeek-V3):
// a per-expert bias added to the scores for selection only (gates use the unbiased
// scores), moved after each training forward by rate * sign(mean load - load_e).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "moe/core/rng.h"
#include "moe/moe/dispatch.h"
#include "moe/nn/linear.h"
#include "moe/nn/module.h"

namespace moe {

struct RouterConfig {
  std::string kind = "topk";
  int64_t top_k = 2;
  std::string topk_norm = "softmax_topk";
  double capacity_factor = 0.0;
  int64_t expert_capacity = 0;
  std::vector<int64_t> table;  // fixed: id -> expert
  // Aux loss coefficients.
  double switch_loss = 0.0;
  double importance_loss = 0.0;
  double load_loss = 0.0;  // noisy_topk only (needs the noise scale)
  double uniform_mse_loss = 0.0;
  double z_loss = 0.0;
  double bias_update_rate = 0.0;
};

// Per-call inputs that are not parameters.
struct RouteInputs {
  Rng* rng = nullptr;     // noisy_topk noise in training
  Tensor noise;           // (N, E) fixed eps draw (tests); overrides rng
  Tensor ids;             // (N) int64 ids for fixed / hash routers
  Tensor forced_experts;  // (N, k) int64: replay a recorded routing (token choice)
};

struct RouterOutput {
  RoutingPlan plan;
  Tensor gates;    // (A) gate weight of each sorted position (differentiable)
  Tensor logits;   // (N, E) clean router logits (undefined for fixed / hash)
  Tensor probs;    // (N, E) softmax of the logits (one-hot for fixed / hash)
  Tensor experts;  // (N, k) chosen experts (token choice; undefined for expert choice)
  Tensor aux_loss; // scalar: sum of coefficient * loss (undefined when all are off)
  std::map<std::string, double> aux_values;  // each enabled loss, before its coefficient
};

class Router : public nn::Module {
 public:
  Router(const RouterConfig& config, int64_t d_model, int64_t num_experts, Rng& rng, DType dtype = DType::f32);
  // x: (N, d_model)
  RouterOutput forward(const Tensor& x, const RouteInputs& in = {});

  const RouterConfig& config() const { return config_; }
  int64_t num_experts() const { return num_experts_; }
  // Experts each token is routed to (top_k; E for dense_softmax; 1 for fixed / hash / switch).
  int64_t experts_per_token() const;
  // The aux-loss-free balancing bias (E), float64; zeros when off.
  const std::vector<double>& expert_bias() const { return expert_bias_; }
  void set_expert_bias(std::vector<double> bias);
  // expert_choice only: route each token alone by top_k of S (true), or the batch (false).
  void set_expert_choice_per_token(bool per_token) { ec_per_token_ = per_token; }
  bool expert_choice_per_token() const { return ec_per_token_; }

 private:
  RouterOutput route_token_choice(const Tensor& x, const RouteInputs& in);
  RouterOutput route_expert_choice(const Tensor& x);
  RouterOutput route_by_id(const Tensor& x, const RouteInputs& in);
  void add_aux_losses(RouterOutput& out, const Tensor& dense_gates, const Tensor& load_estimate);
  void update_bias(const RoutingPlan& plan);

  RouterConfig config_;
  int64_t d_model_, num_experts_;
  std::shared_ptr<nn::Linear> gate_, noise_;
  std::vector<double> expert_bias_;
  bool ec_per_token_ = false;
};

}  // namespace moe
