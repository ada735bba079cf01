// routing_stats.cpp: RoutingStats from a plan and the router probabilities.
#include "moe/moe/routing_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace moe {

RoutingStats compute_routing_stats(const RoutingPlan& plan, const Tensor& probs) {
  RoutingStats s;
  const int64_t N = plan.num_tokens, E = plan.num_experts;
  s.num_tokens = N;
  s.num_experts = E;
  s.tokens_per_expert.resize(E);
  for (int64_t e = 0; e < E; ++e) s.tokens_per_expert[e] = plan.tokens_of_expert(e);
  s.dropped = plan.dropped;
  for (int64_t d : plan.dropped_per_slot) s.dropped_share_per_slot.push_back(N ? static_cast<double>(d) / N : 0.0);
  for (int64_t t = 0; t < N; ++t)
    if (plan.token_offsets[t + 1] == plan.token_offsets[t]) ++s.tokens_unrouted;

  double total = 0, mx = 0, mn = std::numeric_limits<double>::infinity();
  for (int64_t c : s.tokens_per_expert) {
    total += c;
    mx = std::max<double>(mx, c);
    mn = std::min<double>(mn, c);
    if (c == 0) ++s.unused_experts;
  }
  const double mean = E ? total / E : 0;
  double var = 0;
  for (int64_t c : s.tokens_per_expert) var += (c - mean) * (c - mean);
  var = E ? var / E : 0;
  s.load_cv = mean > 0 ? std::sqrt(var) / mean : 0;
  s.max_over_mean = mean > 0 ? mx / mean : 0;
  s.max_over_min = mn > 0 ? mx / mn : std::numeric_limits<double>::infinity();
  std::vector<int64_t> sorted = s.tokens_per_expert;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const int64_t fifth = std::max<int64_t>(1, (E + 4) / 5);  // at least one expert
  double top = 0, bottom = 0;
  for (int64_t i = 0; i < fifth && i < E; ++i) top += sorted[i], bottom += sorted[E - 1 - i];
  s.busiest20_share = total > 0 ? top / total : 0;
  s.idlest20_share = total > 0 ? bottom / total : 0;

  if (probs.defined()) {
    MOE_CHECK(probs.dim() == 2 && probs.size(0) == N && probs.size(1) == E,
              "routing stats: probs must be ({}, {}), got {}", N, E, probs.str());
    std::vector<double> p = probs.to_vector<double>();
    s.mean_gate_prob.assign(E, 0.0);
    double entropy = 0;
    for (int64_t t = 0; t < N; ++t)
      for (int64_t e = 0; e < E; ++e) {
        const double v = p[t * E + e];
        s.mean_gate_prob[e] += v / N;
        if (v > 0) entropy -= v * std::log(v);
      }
    s.router_entropy = N ? entropy / N : 0;
  }
  return s;
}

std::string RoutingStats::to_json() const {
  nlohmann::json j;
  j["tokens"] = num_tokens;
  j["tokens_per_expert"] = tokens_per_expert;
  j["dropped"] = dropped;
  j["dropped_share_per_slot"] = dropped_share_per_slot;
  j["tokens_unrouted"] = tokens_unrouted;
  j["unused_experts"] = unused_experts;
  j["mean_gate_prob"] = mean_gate_prob;
  j["router_entropy"] = router_entropy;
  j["load_cv"] = load_cv;
  j["max_over_mean"] = max_over_mean;
  j["max_over_min"] = std::isinf(max_over_min) ? nlohmann::json(nullptr) : nlohmann::json(max_over_min);
  j["busiest20_share"] = busiest20_share;
  j["idlest20_share"] = idlest20_share;
  j["aux_losses"] = aux_losses;
  return j.dump();
}

}  // namespace moe
