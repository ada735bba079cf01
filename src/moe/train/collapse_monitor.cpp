#include "moe/train/collapse_monitor.h"

#include <fmt/format.h>

namespace moe::train {

double CollapseMonitor::busiest_share(const RoutingStats& s, int64_t* expert) {
  int64_t best = 0, arg = 0;
  for (size_t e = 0; e < s.tokens_per_expert.size(); ++e)
    if (s.tokens_per_expert[e] > best) best = s.tokens_per_expert[e], arg = static_cast<int64_t>(e);
  if (expert) *expert = arg;
  return s.num_tokens > 0 ? static_cast<double>(best) / static_cast<double>(s.num_tokens) : 0.0;
}

std::vector<std::string> CollapseMonitor::update(int64_t step, const std::vector<RoutingStats>& layers) {
  if (streak_.size() < layers.size()) streak_.resize(layers.size(), 0), warned_.resize(layers.size(), false);
  std::vector<std::string> out;
  for (size_t l = 0; l < layers.size(); ++l) {
    int64_t expert = 0;
    const double share = busiest_share(layers[l], &expert);
    streak_[l] = share > threshold_ ? streak_[l] + 1 : 0;
    if (streak_[l] >= window_ && !warned_[l]) {
      warned_[l] = true;
      out.push_back(fmt::format(
          "warning: expert collapse in MoE layer {}: expert {} has taken more than {:.0f}% of the layer's tokens for "
          "{} steps (now {:.1f}% at step {}). Add a balancing loss (router switch_loss, importance_loss) or "
          "bias_update_rate.",
          l, expert, 100 * threshold_, window_, 100 * share, step));
    }
  }
  return out;
}

}  // namespace moe::train
