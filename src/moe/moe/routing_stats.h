// routing_stats.h: what every MoE forward reports about its routing. Computed once
// per forward from the plan and the router probabilities; the trainer and the
// analysis code read these, nothing recomputes them.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "moe/core/tensor.h"
#include "moe/moe/dispatch.h"

namespace moe {

struct RoutingStats {
  int64_t num_tokens = 0;
  int64_t num_experts = 0;
  std::vector<int64_t> tokens_per_expert;  // assignments each expert processed
  int64_t dropped = 0;                     // token-choice assignments over capacity
  std::vector<double> dropped_share_per_slot;  // dropped / N for each choice rank
  int64_t tokens_unrouted = 0;             // tokens no expert processed (expert choice, drops)
  int64_t unused_experts = 0;              // experts that processed no token
  std::vector<double> mean_gate_prob;      // mean router probability per expert
  double router_entropy = 0;               // mean over tokens of H(probs), nats
  double load_cv = 0;                      // std / mean of tokens_per_expert
  double max_over_mean = 0, max_over_min = 0;  // max_over_min is +inf when an expert is idle
  double busiest20_share = 0, idlest20_share = 0;  // share of assignments of the top/bottom 20% of experts
  std::map<std::string, double> aux_losses;  // name -> value (before its coefficient)

  std::string to_json() const;
};

// probs: (N, E) router probabilities (detached values are read).
RoutingStats compute_routing_stats(const RoutingPlan& plan, const Tensor& probs);

}  // namespace moe
