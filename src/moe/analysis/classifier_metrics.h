// analysis/classifier_metrics.h: how a routed classifier uses its experts, from the
// expert x class routing counts (docs/metrics.md defines every number).
//   counts[e][c] = routing decisions that sent an example of true class c to expert e
//                  (top-2 routing: two decisions per example)
//   utilization u_e           = sum_c counts[e][c] / sum_{e,c} counts[e][c]
//   load-balance variance     = (1/E) sum_e (u_e - 1/E)^2        (0 = perfectly even)
//   class entropy H_e         = -sum_c p(c|e) log p(c|e) / log C, p(c|e) = counts[e][c] / sum_c counts[e][c]
//   expert-class entropy  H   = sum_e u_e H_e   (utilization-weighted mean; 1 = every expert
//                               sees the classes uniformly, 0 = each sees one class)
//   specialization index      = 1 - H
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace moe::analysis {

struct ClassifierMetrics {
  double accuracy = 0;
  std::vector<double> utilization;        // per expert, sums to 1
  std::vector<double> class_entropy;      // H_e per expert (0 for an idle expert)
  double expert_class_entropy = 0;        // H
  double specialization_index = 0;        // 1 - H
  double load_balance_variance = 0;
  std::vector<std::vector<int64_t>> counts;  // [expert][class]

  nlohmann::json to_json() const;
};

// counts: E rows of C >= 2 columns, non-negative, not all zero.
ClassifierMetrics classifier_metrics(const std::vector<std::vector<int64_t>>& counts, double accuracy);

}  // namespace moe::analysis
