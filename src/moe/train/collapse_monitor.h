// train/collapse_monitor.h: detects expert collapse during training. A layer has
// collapsed when its busiest expert receives more than `threshold` of the layer's
// tokens (tokens_per_expert[e] / tokens: with top-k > 1 a token counts for each expert
// it reaches, so the share can reach 1 for any k) at every step of a window of
// `window` consecutive steps. Each layer is reported once per run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "moe/moe/routing_stats.h"

namespace moe::train {

class CollapseMonitor {
 public:
  explicit CollapseMonitor(double threshold = 0.9, int64_t window = 50) : threshold_(threshold), window_(window) {}
  // Feeds one step's per-layer stats; returns a warning line for each layer that just
  // completed a collapsed window ("" entries are not returned).
  std::vector<std::string> update(int64_t step, const std::vector<RoutingStats>& layers);
  // The busiest expert's share of the layer's tokens.
  static double busiest_share(const RoutingStats& s, int64_t* expert = nullptr);

 private:
  double threshold_;
  int64_t window_;
  std::vector<int64_t> streak_;  // consecutive collapsed steps per layer
  std::vector<bool> warned_;
};

}  // namespace moe::train
