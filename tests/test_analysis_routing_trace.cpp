// Routing traces: written, read back, and replayed as forced routing give the same output.
#include <filesystem>
#include <fstream>

#include "moe/analysis/routing_trace.h"
#include "moe/moe/moe_layer.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(RoutingTrace, WriteReadReplay) {
  MoEConfig c;
  c.d_model = 6;
  c.num_experts = 4;
  c.router.kind = "noisy_topk";
  c.expert.d_ff = 8;
  Rng rng(1);
  MoELayer layer(c, rng);
  Tensor x = rand32({9, 6}, 2);
  Rng noise(3);
  RouteInputs in;
  in.rng = &noise;
  Tensor y = layer.forward(x, in);  // noisy routing: not reproducible without the trace
  std::string path = test_tmp_dir() + "/trace.jsonl";
  {
    RoutingTraceWriter w(path);
    w.write(5, 0, layer.last_routing());
  }
  RoutingTrace trace = RoutingTrace::load(path);
  ASSERT_TRUE(trace.has(5, 0));
  EXPECT_FALSE(trace.has(5, 1));
  const auto& toks = trace.tokens(5, 0);
  ASSERT_EQ(toks.size(), 9u);
  for (const auto& t : toks) {
    EXPECT_EQ(t.experts.size(), 2u);
    EXPECT_NEAR(t.weights[0] + t.weights[1], 1.0, 1e-6);
  }
  // Replay: the same experts; the gates then come from the same noisy scores only when
  // the same noise is given, so compare the routing, and the output with the noise.
  RouteInputs replay;
  replay.forced_experts = trace.forced_experts(5, 0, 2);
  Rng noise2(3);
  replay.rng = &noise2;
  Tensor y2 = layer.forward(x, replay);
  EXPECT_EQ(y2.to_vector<float>(), y.to_vector<float>());
  EXPECT_THROW(trace.forced_experts(5, 0, 3), Error);
  EXPECT_THROW(trace.tokens(6, 0), Error);
  std::ofstream(path) << "{\"step\": 1}\n";
  EXPECT_THROW(RoutingTrace::load(path), Error);
}
