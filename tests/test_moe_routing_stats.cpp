// RoutingStats on hand-made plans.
#include <cmath>
#include <nlohmann/json.hpp>

#include "moe/moe/routing_stats.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(RoutingStats, CountsAndBalanceMeasures) {
  // 5 tokens, k = 1, 5 experts: loads (3, 1, 1, 0, 0).
  Tensor ex = Tensor::from_vector<int64_t>({0, 0, 1, 2, 0}, {5, 1});
  RoutingPlan plan = plan_token_choice(ex, Tensor(), 5);
  Tensor probs = Tensor::full({5, 5}, 0.2, DType::f64);
  RoutingStats s = compute_routing_stats(plan, probs);
  EXPECT_EQ(s.tokens_per_expert, (std::vector<int64_t>{3, 1, 1, 0, 0}));
  EXPECT_EQ(s.unused_experts, 2);
  EXPECT_EQ(s.tokens_unrouted, 0);
  EXPECT_NEAR(s.load_cv, std::sqrt((4 + 0 + 0 + 1 + 1) / 5.0) / 1.0, 1e-12);
  EXPECT_NEAR(s.max_over_mean, 3.0, 1e-12);
  EXPECT_TRUE(std::isinf(s.max_over_min));
  EXPECT_NEAR(s.busiest20_share, 0.6, 1e-12);  // 1 of 5 experts
  EXPECT_NEAR(s.idlest20_share, 0.0, 1e-12);
  EXPECT_NEAR(s.router_entropy, std::log(5.0), 1e-12);
  for (double m : s.mean_gate_prob) EXPECT_NEAR(m, 0.2, 1e-12);
  nlohmann::json j = nlohmann::json::parse(s.to_json());
  EXPECT_EQ(j["tokens_per_expert"][0], 3);
  EXPECT_TRUE(j["max_over_min"].is_null());
}

TEST(RoutingStats, DropsAndUnroutedTokens) {
  Tensor ex = Tensor::from_vector<int64_t>({0, 0, 0, 1}, {4, 1});
  Tensor sc = Tensor::from_vector<double>({0.9, 0.5, 0.7, 0.8}, {4, 1});
  RoutingPlan plan = plan_token_choice(ex, sc, 2, 2);  // expert 0 keeps tokens 0 and 2
  RoutingStats s = compute_routing_stats(plan, Tensor());
  EXPECT_EQ(s.dropped, 1);
  EXPECT_EQ(s.tokens_unrouted, 1);
  EXPECT_NEAR(s.dropped_share_per_slot[0], 0.25, 1e-12);
  EXPECT_NEAR(s.max_over_min, 2.0, 1e-12);
}
