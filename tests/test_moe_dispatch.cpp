// Routing plans (token choice, capacity, expert choice) against naive references, and
// the dispatch/combine ops: forward against loops, float64 gradchecks.
#include <algorithm>
#include <set>

#include "moe/moe/dispatch.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(RoutingPlan, TokenChoiceSortsStablyByExpert) {
  // 4 tokens, k = 2, 3 experts.
  Tensor ex = Tensor::from_vector<int64_t>({2, 0, 0, 1, 2, 1, 0, 2}, {4, 2});
  RoutingPlan p = plan_token_choice(ex, Tensor(), 3);
  EXPECT_EQ(p.expert_offsets, (std::vector<int64_t>{0, 3, 5, 8}));
  EXPECT_EQ(p.pos_token, (std::vector<int64_t>{0, 1, 3, 1, 2, 0, 2, 3}));
  EXPECT_EQ(p.pos_gate, (std::vector<int64_t>{1, 2, 6, 3, 5, 0, 4, 7}));
  EXPECT_EQ(p.dropped, 0);
  // Each token's positions, in sorted order.
  EXPECT_EQ(p.token_offsets, (std::vector<int64_t>{0, 2, 4, 6, 8}));
  EXPECT_EQ(p.token_positions, (std::vector<int64_t>{0, 5, 1, 3, 4, 6, 2, 7}));
  EXPECT_THROW(plan_token_choice(Tensor::from_vector<int64_t>({3}, {1, 1}), Tensor(), 3), Error);
}

TEST(RoutingPlan, CapacityDropsLowestScoresAndCountsThem) {
  // A naive reference: for each expert, rank its assignments by score (desc, token asc).
  const int64_t N = 40, k = 2, E = 4, C = 12;
  Rng rng(5);
  std::vector<int64_t> ex(N * k);
  for (int64_t t = 0; t < N; ++t) {
    int64_t a = rng.randint(0, E), b = (a + 1 + rng.randint(0, E - 1)) % E;
    ex[t * k] = a, ex[t * k + 1] = b;
  }
  Tensor scores = rand64({N, k}, 6, 0, 1);
  RoutingPlan p = plan_token_choice(Tensor::from_vector<int64_t>(ex, {N, k}), scores, E, C);
  std::vector<double> sc = scores.to_vector<double>();
  int64_t dropped = 0;
  std::vector<int64_t> dropped_slot(k, 0);
  for (int64_t e = 0; e < E; ++e) {
    std::vector<int64_t> mine;
    for (int64_t a = 0; a < N * k; ++a)
      if (ex[a] == e) mine.push_back(a);
    std::vector<int64_t> ranked = mine;
    std::sort(ranked.begin(), ranked.end(), [&](int64_t x, int64_t y) { return sc[x] > sc[y] || (sc[x] == sc[y] && x < y); });
    std::set<int64_t> kept(ranked.begin(), ranked.begin() + std::min<int64_t>(C, ranked.size()));
    for (size_t i = C; i < ranked.size(); ++i) ++dropped, ++dropped_slot[ranked[i] % k];
    std::vector<int64_t> got(p.pos_gate.begin() + p.expert_offsets[e], p.pos_gate.begin() + p.expert_offsets[e + 1]);
    EXPECT_EQ(std::set<int64_t>(got.begin(), got.end()), kept) << "expert " << e;
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
    EXPECT_LE(p.tokens_of_expert(e), C);
  }
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(p.dropped, dropped);
  EXPECT_EQ(p.dropped_per_slot, dropped_slot);
}

TEST(RoutingPlan, ExpertChoiceTakesExactlyCapacity) {
  const int64_t N = 30, E = 5, C = 7;
  Tensor scores = rand64({N, E}, 7, 0, 1);
  RoutingPlan p = plan_expert_choice(scores, C);
  std::vector<double> sc = scores.to_vector<double>();
  for (int64_t e = 0; e < E; ++e) {
    EXPECT_EQ(p.tokens_of_expert(e), C);
    std::vector<int64_t> tokens(N);
    for (int64_t t = 0; t < N; ++t) tokens[t] = t;
    std::sort(tokens.begin(), tokens.end(), [&](int64_t a, int64_t b) { return sc[a * E + e] > sc[b * E + e]; });
    std::set<int64_t> want(tokens.begin(), tokens.begin() + C);
    std::set<int64_t> got(p.pos_token.begin() + p.expert_offsets[e], p.pos_token.begin() + p.expert_offsets[e + 1]);
    EXPECT_EQ(got, want);
    for (int64_t i = p.expert_offsets[e]; i < p.expert_offsets[e + 1]; ++i)
      EXPECT_EQ(p.pos_gate[i], p.pos_token[i] * E + e);
  }
  EXPECT_EQ(plan_expert_choice(scores, 100).tokens_of_expert(0), N);  // capacity clipped to N
}

TEST(Dispatch, ForwardMatchesLoops) {
  Tensor ex = Tensor::from_vector<int64_t>({2, 0, 0, 1, 2, 1}, {3, 2});
  RoutingPlan p = plan_token_choice(ex, Tensor(), 3);
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = rand64({3, 4}, 1).to(dt);
    Tensor xs = dispatch(x, p);
    for (int64_t i = 0; i < p.num_assignments(); ++i)
      for (int64_t j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(xs.at({i, j}), x.at({p.pos_token[i], j}));
    Tensor ys = rand64({6, 4}, 2).to(dt), w = rand64({6}, 3).to(dt);
    Tensor out = combine(ys, w, p);
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t j = 0; j < 4; ++j) {
        double want = 0;
        for (int64_t i = 0; i < 6; ++i)
          if (p.pos_token[i] == t) want += w.at({i}) * ys.at({i, j});
        EXPECT_NEAR(out.at({t, j}), want, 1e-6);
      }
  }
}

TEST(Dispatch, TokenWithNoExpertGetsZero) {
  RoutingPlan p = plan_expert_choice(Tensor::from_list({0.9f, 0.1f, 0.5f}, {3, 1}), 1);  // only token 0
  Tensor out = combine(Tensor::ones({1, 2}), Tensor::ones({1}), p);
  expect_close(out, {1, 1, 0, 0, 0, 0});
}

TEST(Dispatch, Gradcheck) {
  Tensor ex = Tensor::from_vector<int64_t>({2, 0, 0, 1, 2, 1, 1, 0}, {4, 2});
  RoutingPlan p = plan_token_choice(ex, Tensor(), 3);
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return dispatch(in[0], p); }, {rand64({4, 3}, 1)});
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return combine(in[0], in[1], p); },
                   {rand64({8, 3}, 2), rand64({8}, 3)});
  // The whole path with a per-position scale in between.
  EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return combine(square(dispatch(in[0], p)), in[1], p); },
                   {rand64({4, 3}, 4), rand64({8}, 5)});
}

TEST(Dispatch, Float32MatchesFloat64Threaded) {
  const int64_t N = 3000, k = 2, E = 8, D = 64;
  Rng rng(3);
  std::vector<int64_t> ex(N * k);
  for (auto& e : ex) e = rng.randint(0, E);
  RoutingPlan p = plan_token_choice(Tensor::from_vector<int64_t>(ex, {N, k}), Tensor(), E);
  Tensor x = rand32({N, D}, 8), w = rand32({N * k}, 9);
  Tensor ys = dispatch(x, p);
  Tensor out = combine(ys, w, p);
  Tensor out64 = combine(dispatch(x.to(DType::f64), p), w.to(DType::f64), p);
  expect_tensors_close(out, out64, 1e-5);
}
