// moe_layer.h: the Mixture-of-Experts feed-forward layer. Every model of moe.cpp uses it.
//
//   route (Router) -> RoutingPlan: assignments sorted by expert once
//   dispatch: gather the token rows into that order (one copy)
//   experts: one GEMM per expert segment (grouped_linear), stacked weights
//   combine: weighted, ordered sum back per token (no atomics)
//   + optional always-on shared experts applied to every token
//
// The layer returns only the experts' mix; the block around it adds the residual, so
// tokens dropped by capacity or taken by no expert pass through unchanged. Each forward
// records RoutingStats and the weighted aux loss, which the trainer reads.
#pragma once
#include <memory>

#include "moe/moe/experts.h"
#include "moe/moe/router.h"
#include "moe/moe/routing_stats.h"

namespace moe {

struct MoEConfig {
  int64_t d_model = 0;
  int64_t num_experts = 8;
  RouterConfig router;
  ExpertConfig expert;        // d_model is taken from here too (must match)
  int64_t num_shared_experts = 0;  // always-on experts of the same kind, summed
};

class MoELayer : public nn::Module {
 public:
  MoELayer(const MoEConfig& config, Rng& rng, DType dtype = DType::f32);
  // x: (..., d_model) -> (..., d_out), d_out = config.expert.output_width() (d_model
  // unless mlp experts set another). `router` (optional) routes instead of the
  // layer's own router: a cycle-shared model gives each logical layer its own router
  // over the same experts.
  Tensor forward(const Tensor& x, const RouteInputs& in = {}, Router* router = nullptr);

  const MoEConfig& config() const { return config_; }
  Router& router() { return *router_; }
  const Experts& experts() const { return *experts_; }
  // From the last forward.
  const RoutingStats& stats() const { return stats_; }
  const RouterOutput& last_routing() const { return last_; }
  Tensor aux_loss() const { return last_.aux_loss; }
  // Parameters a token touches: router + k routed experts + shared experts.
  int64_t active_parameters_per_token() const;

 private:
  MoEConfig config_;
  std::shared_ptr<Router> router_;
  std::shared_ptr<Experts> experts_, shared_;
  RoutingStats stats_;
  RouterOutput last_;
};

}  // namespace moe
