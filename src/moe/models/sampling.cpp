#include "moe/models/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "moe/core/error.h"

namespace moe::models {

void check_sampling(const SamplingOptions& o) {
  MOE_CHECK(o.temperature >= 0, "sampling: temperature must be >= 0, got {}", o.temperature);
  MOE_CHECK(o.top_k >= 0, "sampling: top_k must be >= 0, got {}", o.top_k);
  MOE_CHECK(o.top_p > 0 && o.top_p <= 1, "sampling: top_p must be in (0, 1], got {}", o.top_p);
}

int64_t sample_next(const std::vector<float>& logits, const SamplingOptions& o, Rng& rng) {
  MOE_CHECK(!logits.empty(), "sample_next: empty logits");
  check_sampling(o);
  const int64_t V = static_cast<int64_t>(logits.size());
  std::vector<int64_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  if (o.temperature == 0) return order[0];
  int64_t keep = o.top_k > 0 ? std::min(o.top_k, V) : V;
  std::vector<double> p(keep);
  const double mx = logits[order[0]];
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += p[i] = std::exp((logits[order[i]] - mx) / o.temperature);
  if (o.top_p < 1) {  // the smallest prefix reaching top_p of the (top-k) mass
    double acc = 0;
    int64_t n = 0;
    while (n < keep) {
      acc += p[n++] / total;
      if (acc >= o.top_p) break;
    }
    keep = n;
    total = std::accumulate(p.begin(), p.begin() + keep, 0.0);
  }
  double u = rng.uniform() * total;
  for (int64_t i = 0; i < keep; ++i) {
    u -= p[i];
    if (u <= 0) return order[i];
  }
  return order[keep - 1];
}

}  // namespace moe::models
