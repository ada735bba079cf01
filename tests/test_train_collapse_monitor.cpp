// The collapse warning fires once for a forced-collapse router, not for a balanced one.
#include "moe/moe/moe_layer.h"
#include "moe/train/collapse_monitor.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {
MoELayer make_layer(Rng& rng) {
  MoEConfig c;
  c.d_model = 6;
  c.num_experts = 4;
  c.router.kind = "topk";
  c.router.top_k = 1;
  c.expert.d_ff = 8;
  return MoELayer(c, rng);
}
}  // namespace

TEST(CollapseMonitor, FiresOnceOnForcedCollapse) {
  Rng rng(1);
  MoELayer layer = make_layer(rng);
  Tensor w = layer.parameter("router.gate.weight");
  w.fill_(0.0);
  w.select(0, 2).fill_(5.0);  // expert 2 wins for every input with positive features
  train::CollapseMonitor mon(0.9, 5);
  std::vector<std::string> warnings;
  for (int step = 1; step <= 12; ++step) {
    layer.forward(rand32({32, 6}, step, 0.1, 1.0));
    for (auto& m : mon.update(step, {layer.stats()})) warnings.push_back(m);
  }
  ASSERT_EQ(warnings.size(), 1u);  // once, not every step
  EXPECT_NE(warnings[0].find("MoE layer 0"), std::string::npos);
  EXPECT_NE(warnings[0].find("expert 2"), std::string::npos);
  EXPECT_NE(warnings[0].find("step 5"), std::string::npos);
}

TEST(CollapseMonitor, SilentWhenBalancedOrBriefly) {
  Rng rng(1);
  MoELayer layer = make_layer(rng);
  train::CollapseMonitor mon(0.9, 5);
  for (int step = 1; step <= 20; ++step) {
    layer.forward(rand32({64, 6}, step, -1.0, 1.0));
    EXPECT_TRUE(mon.update(step, {layer.stats()}).empty());
  }
  // A collapsed stretch shorter than the window does not fire.
  RoutingStats collapsed;
  collapsed.num_tokens = 10;
  collapsed.tokens_per_expert = {10, 0, 0, 0};
  RoutingStats balanced = collapsed;
  balanced.tokens_per_expert = {3, 3, 2, 2};
  train::CollapseMonitor m2(0.9, 3);
  EXPECT_TRUE(m2.update(1, {collapsed}).empty());
  EXPECT_TRUE(m2.update(2, {collapsed}).empty());
  EXPECT_TRUE(m2.update(3, {balanced}).empty());
  EXPECT_TRUE(m2.update(4, {collapsed}).empty());
  EXPECT_NEAR(train::CollapseMonitor::busiest_share(collapsed), 1.0, 1e-12);
}
