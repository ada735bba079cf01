// test_cuda_moe_attention.cpp: the CUDA MoE path and attention against the ref:: kernels
// and the host routing plans: device routing plans (token choice with and without
// capacity, expert choice) equal moe::plan_token_choice / plan_expert_choice, ragged and
// empty expert segments through dispatch, grouped GEMM (fp32 and bf16) and combine,
// forward and backward; attention with saved probabilities and the fused flash kernels,
// forward and backward, causal and not. Skips itself when no CUDA device is visible.
#include <gtest/gtest.h>

#include "moe/kernels/kernels.h"
#include "moe/moe/dispatch.h"
#include "test_cuda_util.h"

namespace moe {
namespace {

namespace k = kernels;
using test::device_index;
using test::doubles;
using test::fresh_seed;
using test::poisoned;
using test::random_pair;

// Experts per (token, slot) drawn so that some experts are empty and the rest ragged.
std::vector<int64_t> ragged_experts(int64_t N, int64_t kk, int64_t E, Rng& rng) {
  std::vector<int64_t> ex(N * kk);
  for (int64_t t = 0; t < N; ++t)
    for (int64_t s = 0; s < kk; ++s) {
      int64_t e;
      do e = rng.randint(0, E) % std::max<int64_t>(1, E - 2);  // the last two experts stay empty
      while (s > 0 && e == ex[t * kk]);
      ex[t * kk + s] = e;
    }
  return ex;
}

struct DevicePlan {
  Tensor expert_offsets, pos_token, pos_gate, token_offsets, token_positions, dropped;
  int64_t A = 0;
};

DevicePlan device_token_choice(const std::vector<int64_t>& ex, const Tensor& scores_dev, int64_t N, int64_t kk,
                               int64_t E, int64_t capacity) {
  DevicePlan p;
  Tensor ex_dev = device_index(ex);
  p.expert_offsets = Tensor::empty({E + 1}, DType::i64, Device::CUDA);
  p.pos_token = Tensor::empty({N * kk + 1}, DType::i64, Device::CUDA);
  p.pos_gate = Tensor::empty({N * kk + 1}, DType::i64, Device::CUDA);
  p.token_offsets = Tensor::empty({N + 1}, DType::i64, Device::CUDA);
  p.token_positions = Tensor::empty({N * kk + 1}, DType::i64, Device::CUDA);
  p.dropped = Tensor::empty({kk}, DType::i64, Device::CUDA);
  p.A = k::cuda::plan_token_choice(ex_dev.data<int64_t>(), scores_dev.data<float>(), N, kk, E, capacity,
                                   p.expert_offsets.data<int64_t>(), p.pos_token.data<int64_t>(),
                                   p.pos_gate.data<int64_t>(), p.token_offsets.data<int64_t>(),
                                   p.token_positions.data<int64_t>(), p.dropped.data<int64_t>());
  return p;
}

std::vector<int64_t> first(const Tensor& t, int64_t n) {
  std::vector<int64_t> v = t.to_vector<int64_t>();
  v.resize(n);
  return v;
}

TEST(CudaMoe, TokenChoicePlanEqualsTheHostPlan) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  Rng rng(seed);
  for (auto [N, kk, E, capacity] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 1, 1, -1}, {50, 2, 8, -1},
                                    {64, 2, 8, 5}, {200, 1, 6, 0}, {300, 3, 16, 40}}) {
    std::vector<int64_t> ex = ragged_experts(N, kk, E, rng);
    auto scores = random_pair({N, kk}, seed + N);
    RoutingPlan want = plan_token_choice(Tensor::from_vector(ex, {N, kk}), scores.host, E, capacity);
    DevicePlan got = device_token_choice(ex, scores.dev, N, kk, E, capacity);
    ASSERT_EQ(got.A, want.num_assignments()) << N << " tokens, capacity " << capacity;
    EXPECT_EQ(got.expert_offsets.to_vector<int64_t>(), want.expert_offsets);
    EXPECT_EQ(first(got.pos_token, got.A), want.pos_token);
    EXPECT_EQ(first(got.pos_gate, got.A), want.pos_gate);
    EXPECT_EQ(got.token_offsets.to_vector<int64_t>(), want.token_offsets);
    EXPECT_EQ(first(got.token_positions, got.A), want.token_positions);
    EXPECT_EQ(got.dropped.to_vector<int64_t>(), want.dropped_per_slot);
  }
}

TEST(CudaMoe, ExpertChoicePlanEqualsTheHostPlan) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  for (auto [N, E, capacity] : {std::tuple<int64_t, int64_t, int64_t>{10, 4, 3}, {64, 8, 16}, {5, 3, 9}}) {
    auto scores = random_pair({N, E}, seed + N);
    RoutingPlan want = plan_expert_choice(scores.host, capacity);
    const int64_t A = want.num_assignments();
    Tensor eo = Tensor::empty({E + 1}, DType::i64, Device::CUDA), pt = Tensor::empty({A}, DType::i64, Device::CUDA);
    Tensor pg = Tensor::empty({A}, DType::i64, Device::CUDA), to = Tensor::empty({N + 1}, DType::i64, Device::CUDA);
    Tensor tp = Tensor::empty({A}, DType::i64, Device::CUDA);
    k::cuda::plan_expert_choice(scores.dev.data<float>(), N, E, capacity, eo.data<int64_t>(), pt.data<int64_t>(),
                                pg.data<int64_t>(), to.data<int64_t>(), tp.data<int64_t>());
    EXPECT_EQ(eo.to_vector<int64_t>(), want.expert_offsets);
    EXPECT_EQ(pt.to_vector<int64_t>(), want.pos_token);
    EXPECT_EQ(pg.to_vector<int64_t>(), want.pos_gate);
    EXPECT_EQ(to.to_vector<int64_t>(), want.token_offsets);
    EXPECT_EQ(tp.to_vector<int64_t>(), want.token_positions);
  }
}

// dispatch -> grouped GEMM -> combine and back, with ragged and empty experts.
TEST(CudaMoe, DispatchGroupedGemmCombineForwardBackwardMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  Rng rng(seed);
  for (auto [N, kk, E, D, F] : {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>{40, 2, 8, 16, 24},
                                {129, 2, 6, 64, 96}, {3, 1, 4, 8, 8}}) {
    std::vector<int64_t> ex = ragged_experts(N, kk, E, rng);
    RoutingPlan plan = plan_token_choice(Tensor::from_vector(ex, {N, kk}), Tensor(), E);
    const int64_t A = plan.num_assignments();
    auto x = random_pair({N, D}, seed + 1), W = random_pair({E, F, D}, seed + 2), gates = random_pair({A}, seed + 3);
    auto gout = random_pair({N, F}, seed + 4);
    Tensor pos_token = device_index(plan.pos_token), tok_off = device_index(plan.token_offsets);
    Tensor tok_pos = device_index(plan.token_positions);
    // Forward on the device.
    Tensor xs = poisoned({A, D}), ys = poisoned({A, F}), out = poisoned({N, F});
    k::cuda::gather_rows(x.dev.data<float>(), pos_token.data<int64_t>(), A, D, xs.data<float>());
    k::cuda::grouped_gemm(xs.data<float>(), W.dev.data<float>(), ys.data<float>(), plan.expert_offsets.data(), E, F, D,
                          true, 0.f);
    k::cuda::combine_rows(ys.data<float>(), gates.dev.data<float>(), tok_off.data<int64_t>(), tok_pos.data<int64_t>(), N,
                          F, out.data<float>());
    // Backward on the device.
    Tensor dys = poisoned({A, F}), dw = poisoned({A}), dxs = poisoned({A, D}), dW = poisoned({E, F, D});
    Tensor dx = poisoned({N, D});
    k::cuda::combine_backward(gout.dev.data<float>(), ys.data<float>(), gates.dev.data<float>(),
                              pos_token.data<int64_t>(), A, F, dys.data<float>(), dw.data<float>());
    k::cuda::grouped_gemm(dys.data<float>(), W.dev.data<float>(), dxs.data<float>(), plan.expert_offsets.data(), E, D,
                          F, false, 0.f);
    k::cuda::grouped_gemm_weight_grad(xs.data<float>(), dys.data<float>(), dW.data<float>(), plan.expert_offsets.data(),
                                      E, F, D, 0.f);
    k::cuda::combine_rows(dxs.data<float>(), nullptr, tok_off.data<int64_t>(), tok_pos.data<int64_t>(), N, D,
                          dx.data<float>());
    // The float64 reference, one GEMM per segment.
    std::vector<double> xd = doubles(x.host), Wd = doubles(W.host), gd = doubles(gates.host), god = doubles(gout.host);
    std::vector<double> xsd(A * D), ysd(A * F, 0.0), outd(N * F), dysd(A * F), dwd(A), dxsd(A * D, 0.0);
    std::vector<double> dWd(E * F * D, 0.0), dxd(N * D);
    k::ref::gather_rows<double>(xd.data(), plan.pos_token.data(), D, xsd.data(), 0, A);
    for (int64_t e = 0; e < E; ++e) {
      const int64_t r0 = plan.expert_offsets[e], n = plan.tokens_of_expert(e);
      if (n == 0) continue;
      k::ref::gemm<double>(false, true, n, F, D, 1.0, xsd.data() + r0 * D, D, Wd.data() + e * F * D, D, 0.0,
                           ysd.data() + r0 * F, F);
    }
    k::ref::combine_rows<double>(ysd.data(), gd.data(), plan.token_offsets.data(), plan.token_positions.data(), F,
                                 outd.data(), 0, N);
    k::ref::combine_backward<double>(god.data(), ysd.data(), gd.data(), plan.pos_token.data(), F, dysd.data(),
                                     dwd.data(), 0, A);
    for (int64_t e = 0; e < E; ++e) {
      const int64_t r0 = plan.expert_offsets[e], n = plan.tokens_of_expert(e);
      if (n == 0) continue;
      k::ref::gemm<double>(false, false, n, D, F, 1.0, dysd.data() + r0 * F, F, Wd.data() + e * F * D, D, 0.0,
                           dxsd.data() + r0 * D, D);
      k::ref::gemm<double>(true, false, F, D, n, 1.0, dysd.data() + r0 * F, F, xsd.data() + r0 * D, D, 0.0,
                           dWd.data() + e * F * D, D);
    }
    k::ref::combine_rows<double>(dxsd.data(), nullptr, plan.token_offsets.data(), plan.token_positions.data(), D,
                                 dxd.data(), 0, N);
    EXPECT_EQ(doubles(xs), xsd);
    EXPECT_NORM_ERR(doubles(ys), ysd, 1e-5) << "grouped gemm, " << N << " tokens";
    EXPECT_NORM_ERR(doubles(out), outd, 1e-5) << "combine";
    EXPECT_NORM_ERR(doubles(dys), dysd, 1e-6) << "combine backward dys";
    EXPECT_NORM_ERR(doubles(dw), dwd, 1e-5) << "combine backward dgates";
    EXPECT_NORM_ERR(doubles(dx), dxd, 1e-5) << "dx";
    EXPECT_NORM_ERR(doubles(dW), dWd, 1e-5) << "dW (empty experts get 0)";
    // bf16 storage, fp32 accumulation.
    const int64_t nx = A * D, nw = E * F * D;
    Tensor xs16 = Tensor::empty({nx}, DType::i32, Device::CUDA), W16 = Tensor::empty({nw}, DType::i32, Device::CUDA);
    Tensor ys16 = Tensor::empty({A * F}, DType::i32, Device::CUDA), ys16f = poisoned({A, F});
    auto bf = [](const Tensor& t) { return reinterpret_cast<uint16_t*>(t.data<int32_t>()); };
    k::cuda::f32_to_bf16(xs.data<float>(), bf(xs16), nx);
    k::cuda::f32_to_bf16(W.dev.data<float>(), bf(W16), nw);
    k::cuda::grouped_gemm_bf16(bf(xs16), bf(W16), bf(ys16), plan.expert_offsets.data(), E, F, D, true, 0.f);
    k::cuda::bf16_to_f32(bf(ys16), ys16f.data<float>(), A * F);
    EXPECT_NORM_ERR(doubles(ys16f), ysd, 1e-2) << "bf16 grouped gemm";
  }
}

// Attention: the saved-probability kernels and the flash kernels against ref, fwd + bwd.
TEST(CudaAttention, ProbsAndFlashKernelsMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  for (auto [BH, Tn, D] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 8}, {3, 7, 16}, {2, 33, 64}, {2, 100, 80},
                           {1, 130, 128}}) {
    for (bool causal : {true, false}) {
      const float scale = 1.f / std::sqrt(static_cast<float>(D));
      auto q = random_pair({BH, Tn, D}, seed + 1), kx = random_pair({BH, Tn, D}, seed + 2);
      auto v = random_pair({BH, Tn, D}, seed + 3), go = random_pair({BH, Tn, D}, seed + 4);
      std::vector<double> qd = doubles(q.host), kd = doubles(kx.host), vd = doubles(v.host), god = doubles(go.host);
      std::vector<double> outd(BH * Tn * D), probsd(BH * Tn * Tn), gqd(BH * Tn * D), gkd(BH * Tn * D), gvd(BH * Tn * D);
      k::ref::attention_forward<double>(qd.data(), kd.data(), vd.data(), outd.data(), probsd.data(), Tn, D, causal,
                                        scale, 0, BH);
      k::ref::attention_backward<double>(qd.data(), kd.data(), vd.data(), probsd.data(), god.data(), gqd.data(),
                                         gkd.data(), gvd.data(), Tn, D, causal, scale, 0, BH);
      const Shape s{BH, Tn, D};
      // Saved probabilities.
      Tensor out = poisoned(s), probs = poisoned({BH, Tn, Tn}), gq = poisoned(s), gk = poisoned(s), gv = poisoned(s);
      k::cuda::attention_forward(q.dev.data<float>(), kx.dev.data<float>(), v.dev.data<float>(), out.data<float>(),
                                 probs.data<float>(), BH, Tn, D, causal, scale);
      k::cuda::attention_backward(q.dev.data<float>(), kx.dev.data<float>(), v.dev.data<float>(), probs.data<float>(),
                                  go.dev.data<float>(), gq.data<float>(), gk.data<float>(), gv.data<float>(), BH, Tn, D,
                                  causal, scale);
      EXPECT_NORM_ERR(doubles(out), outd, 1e-5) << "attention T " << Tn << " D " << D << " causal " << causal;
      EXPECT_NORM_ERR(doubles(probs), probsd, 1e-5);
      EXPECT_NORM_ERR(doubles(gq), gqd, 1e-4);
      EXPECT_NORM_ERR(doubles(gk), gkd, 1e-4);
      EXPECT_NORM_ERR(doubles(gv), gvd, 1e-5);
      // Flash: no (T, T) matrix, the logsumexp saved instead.
      Tensor fout = poisoned(s), lse = poisoned({BH, Tn}), fgq = poisoned(s), fgk = poisoned(s), fgv = poisoned(s);
      k::cuda::flash_attention_forward(q.dev.data<float>(), kx.dev.data<float>(), v.dev.data<float>(),
                                       fout.data<float>(), lse.data<float>(), BH, Tn, D, causal, scale);
      k::cuda::flash_attention_backward(q.dev.data<float>(), kx.dev.data<float>(), v.dev.data<float>(),
                                        fout.data<float>(), lse.data<float>(), go.dev.data<float>(), fgq.data<float>(),
                                        fgk.data<float>(), fgv.data<float>(), BH, Tn, D, causal, scale);
      EXPECT_NORM_ERR(doubles(fout), outd, 1e-5) << "flash attention T " << Tn << " D " << D << " causal " << causal;
      EXPECT_NORM_ERR(doubles(fgq), gqd, 1e-4) << "flash dq";
      EXPECT_NORM_ERR(doubles(fgk), gkd, 1e-4) << "flash dk";
      EXPECT_NORM_ERR(doubles(fgv), gvd, 1e-5) << "flash dv";
      // Deterministic: a second backward gives the same bits.
      Tensor fgq2 = poisoned(s), fgk2 = poisoned(s), fgv2 = poisoned(s);
      k::cuda::flash_attention_backward(q.dev.data<float>(), kx.dev.data<float>(), v.dev.data<float>(),
                                        fout.data<float>(), lse.data<float>(), go.dev.data<float>(), fgq2.data<float>(),
                                        fgk2.data<float>(), fgv2.data<float>(), BH, Tn, D, causal, scale);
      EXPECT_EQ(doubles(fgq), doubles(fgq2));
      EXPECT_EQ(doubles(fgk), doubles(fgk2));
    }
  }
}

}  // namespace
}  // namespace moe
