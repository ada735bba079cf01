// analysis/classifier_metrics.cpp: utilization, specialization and balance from the
// expert x class routing counts.
#include "moe/analysis/classifier_metrics.h"

#include <cmath>

#include "moe/core/error.h"

namespace moe::analysis {

ClassifierMetrics classifier_metrics(const std::vector<std::vector<int64_t>>& counts, double accuracy) {
  const int64_t E = static_cast<int64_t>(counts.size());
  MOE_CHECK(E >= 1, "classifier metrics: need at least one expert row");
  const int64_t C = static_cast<int64_t>(counts[0].size());
  MOE_CHECK(C >= 2, "classifier metrics: need at least two classes, got {}", C);
  double total = 0;
  std::vector<double> row(E, 0.0);
  for (int64_t e = 0; e < E; ++e) {
    MOE_CHECK(static_cast<int64_t>(counts[e].size()) == C, "classifier metrics: row {} has {} classes, row 0 has {}", e,
              counts[e].size(), C);
    for (int64_t v : counts[e]) {
      MOE_CHECK(v >= 0, "classifier metrics: negative count {} for expert {}", v, e);
      row[e] += v;
    }
    total += row[e];
  }
  MOE_CHECK(total > 0, "classifier metrics: no routing decisions");
  ClassifierMetrics m;
  m.accuracy = accuracy;
  m.counts = counts;
  for (int64_t e = 0; e < E; ++e) {
    const double u = row[e] / total;
    m.utilization.push_back(u);
    m.load_balance_variance += (u - 1.0 / E) * (u - 1.0 / E) / E;
    double h = 0;
    for (int64_t v : counts[e])
      if (v > 0) h -= (v / row[e]) * std::log(v / row[e]);
    h /= std::log(static_cast<double>(C));
    m.class_entropy.push_back(h);
    m.expert_class_entropy += u * h;
  }
  m.specialization_index = 1.0 - m.expert_class_entropy;
  return m;
}

nlohmann::json ClassifierMetrics::to_json() const {
  return {{"accuracy", accuracy},
          {"utilization", utilization},
          {"class_entropy", class_entropy},
          {"expert_class_entropy", expert_class_entropy},
          {"specialization_index", specialization_index},
          {"load_balance_variance", load_balance_variance},
          {"expert_class_counts", counts}};
}

}  // namespace moe::analysis
