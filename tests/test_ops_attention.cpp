// The fused attention op: forward against plain loops, values and gradients against
// the composed matmul/softmax graph, float64 gradchecks (contiguous and permuted
// inputs, causal and not), causal rows never reading the future, cpu:: vs ref::.
#include <cmath>
#include <limits>

#include "moe/kernels/kernels.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// Plain loops over contiguous (B, H, T, D) values: softmax(q k^T / sqrt(D)) v.
std::vector<double> attention_loops(const Tensor& q, const Tensor& k, const Tensor& v, bool causal) {
  const int64_t BH = q.size(0) * q.size(1), T = q.size(2), D = q.size(3);
  std::vector<double> qv = q.to_vector<double>(), kv = k.to_vector<double>(), vv = v.to_vector<double>();
  std::vector<double> out(BH * T * D, 0.0);
  for (int64_t bh = 0; bh < BH; ++bh)
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> p(T, 0.0);
      double mx = -1e300, total = 0;
      const int64_t n = causal ? t + 1 : T;
      for (int64_t s = 0; s < n; ++s) {
        for (int64_t d = 0; d < D; ++d) p[s] += qv[(bh * T + t) * D + d] * kv[(bh * T + s) * D + d];
        p[s] /= std::sqrt(static_cast<double>(D));
        mx = std::max(mx, p[s]);
      }
      for (int64_t s = 0; s < n; ++s) total += (p[s] = std::exp(p[s] - mx));
      for (int64_t s = 0; s < n; ++s)
        for (int64_t d = 0; d < D; ++d) out[(bh * T + t) * D + d] += p[s] / total * vv[(bh * T + s) * D + d];
    }
  return out;
}

// The unfused graph of existing ops, for values and gradients.
Tensor attention_composed(const Tensor& q, const Tensor& k, const Tensor& v, bool causal) {
  const int64_t T = q.size(2);
  Tensor scores = mul(matmul(q, k.transpose(-1, -2)), 1.0 / std::sqrt(static_cast<double>(q.size(3))));
  if (causal) {
    std::vector<double> mask(T * T, 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t s = t + 1; s < T; ++s) mask[t * T + s] = -1e9;  // exp underflows to exactly 0
    scores = add(scores, Tensor::from_vector(mask, {T, T}).to(q.dtype()));
  }
  Tensor e = exp(sub(scores, max(scores, -1, true).detach()));
  return matmul(div(e, sum(e, {-1}, true)), v);
}

// q, k, v as MHA makes them: one (B, T, 3 * H * D) projection viewed as (B, T, 3, H, D)
// and permuted to three non-contiguous (B, H, T, D) views.
std::vector<Tensor> split_qkv(const Tensor& qkv, int64_t H, int64_t D) {
  Tensor p = qkv.reshape({qkv.size(0), qkv.size(1), 3, H, D}).permute({2, 0, 3, 1, 4});
  return {p.select(0, 0), p.select(0, 1), p.select(0, 2)};
}

}  // namespace

TEST(Attention, ForwardMatchesPlainLoops) {
  for (bool causal : {false, true}) {
    Tensor q = rand64({2, 3, 7, 4}, 1, -2, 2), k = rand64({2, 3, 7, 4}, 2, -2, 2), v = rand64({2, 3, 7, 4}, 3);
    expect_close(attention(q, k, v, causal), attention_loops(q, k, v, causal), 1e-12);
    expect_close(attention(q.to(DType::f32), k.to(DType::f32), v.to(DType::f32), causal),
                 attention_loops(q, k, v, causal), 1e-5);
  }
}

TEST(Attention, CausalFirstRowCopiesFirstValue) {
  Tensor q = rand64({1, 2, 4, 3}, 4), k = rand64({1, 2, 4, 3}, 5), v = rand64({1, 2, 4, 3}, 6);
  Tensor out = attention(q, k, v, true);
  expect_tensors_close(out.slice(2, 0, 1), v.slice(2, 0, 1), 1e-14);
}

TEST(Attention, ValuesAndGradientsMatchComposed) {
  for (DType dt : {DType::f64, DType::f32}) {
    for (bool causal : {false, true}) {
      const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
      auto make = [&](uint64_t seed) { return rand64({2, 2, 6, 5}, seed).to(dt).set_requires_grad(true); };
      Tensor q = make(10), k = make(11), v = make(12);
      Tensor q2 = q.detach().clone().set_requires_grad(true), k2 = k.detach().clone().set_requires_grad(true),
             v2 = v.detach().clone().set_requires_grad(true);
      Tensor w = rand64({2, 2, 6, 5}, 13).to(dt);
      Tensor fused = attention(q, k, v, causal), composed = attention_composed(q2, k2, v2, causal);
      expect_tensors_close(fused, composed, tol);
      sum(mul(fused, w)).backward();
      sum(mul(composed, w)).backward();
      expect_tensors_close(q.grad(), q2.grad(), tol);
      expect_tensors_close(k.grad(), k2.grad(), tol);
      expect_tensors_close(v.grad(), v2.grad(), tol);
    }
  }
}

TEST(Attention, PermutedInputsMatchComposed) {
  const int64_t H = 2, D = 3;
  Tensor x = rand64({2, 5, 3 * H * D}, 20).set_requires_grad(true);
  Tensor x2 = x.detach().clone().set_requires_grad(true);
  std::vector<Tensor> a = split_qkv(x, H, D), b = split_qkv(x2, H, D);
  ASSERT_FALSE(a[0].is_contiguous());
  Tensor fused = attention(a[0], a[1], a[2], true), composed = attention_composed(b[0], b[1], b[2], true);
  expect_tensors_close(fused, composed, 1e-10);
  Tensor w = rand64(fused.shape(), 21);
  sum(mul(fused, w)).backward();
  sum(mul(composed, w)).backward();
  expect_tensors_close(x.grad(), x2.grad(), 1e-10);
}

TEST(Attention, Gradcheck) {
  for (bool causal : {false, true}) {
    auto f = [causal](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], causal); };
    EXPECT_GRADCHECK(f, {rand64({1, 1, 3, 2}, 30), rand64({1, 1, 3, 2}, 31), rand64({1, 1, 3, 2}, 32)});
    EXPECT_GRADCHECK(f, {rand64({2, 3, 5, 4}, 33, -2, 2), rand64({2, 3, 5, 4}, 34, -2, 2),
                         rand64({2, 3, 5, 4}, 35)});
  }
}

TEST(Attention, GradcheckNonContiguous) {
  for (bool causal : {false, true}) {
    // Permuted views of one qkv projection, as MHA calls it.
    auto from_qkv = [causal](const std::vector<Tensor>& in) {
      std::vector<Tensor> qkv = split_qkv(in[0], 3, 2);
      return attention(qkv[0], qkv[1], qkv[2], causal);
    };
    EXPECT_GRADCHECK(from_qkv, {rand64({2, 4, 3 * 3 * 2}, 40, -2, 2)});
    // Transposed and sliced views.
    auto views = [causal](const std::vector<Tensor>& in) {
      return attention(in[0].transpose(1, 2), in[1].slice(3, 1, 5, 2), in[2].transpose(2, 3), causal);
    };
    EXPECT_GRADCHECK(views, {rand64({2, 5, 3, 2}, 41), rand64({2, 3, 5, 4}, 42), rand64({2, 3, 2, 5}, 43)});
  }
}

TEST(Attention, CausalRowsNeverReadFutureKeys) {
  // NaN in the last key and value: every earlier row and its gradients stay finite and
  // equal to those computed without the poison.
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor q = rand64({1, 2, 5, 3}, 50).to(dt), k = rand64({1, 2, 5, 3}, 51).to(dt),
           v = rand64({1, 2, 5, 3}, 52).to(dt);
    Tensor kp = k.clone(), vp = v.clone();
    kp.slice(2, 4, 5).fill_(std::numeric_limits<double>::quiet_NaN());
    vp.slice(2, 4, 5).fill_(std::numeric_limits<double>::quiet_NaN());
    Tensor qg = q.clone().set_requires_grad(true), qpg = q.clone().set_requires_grad(true);
    Tensor clean = attention(qg, k, v, true).slice(2, 0, 4);
    Tensor poisoned = attention(qpg, kp, vp, true).slice(2, 0, 4);
    expect_tensors_close(poisoned, clean, 0.0);
    sum(clean).backward();
    sum(poisoned).backward();
    expect_tensors_close(qpg.grad().slice(2, 0, 4), qg.grad().slice(2, 0, 4), 0.0);
  }
}

TEST(Attention, NoGradForwardEqualsGradForward) {
  Tensor q = rand32({2, 2, 9, 8}, 60), k = rand32({2, 2, 9, 8}, 61), v = rand32({2, 2, 9, 8}, 62);
  Tensor with_grad = attention(q.clone().set_requires_grad(true), k, v, true);
  NoGradGuard no_grad;
  expect_tensors_close(attention(q, k, v, true), with_grad.detach(), 0.0);
}

TEST(Attention, CpuKernelMatchesRef) {
  const int64_t BH = 6, T = 37, D = 16, n = BH * T * D;
  auto values = [&](uint64_t seed) { return rand64({n}, seed, -2, 2).to_vector<double>(); };
  std::vector<double> q = values(70), k = values(71), v = values(72), go = values(73);
  auto to_f32 = [](const std::vector<double>& x) { return std::vector<float>(x.begin(), x.end()); };
  std::vector<float> qf = to_f32(q), kf = to_f32(k), vf = to_f32(v), gof = to_f32(go);
  for (bool causal : {false, true}) {
    const double scale = 1.0 / std::sqrt(double(D));
    std::vector<double> out(n), probs(BH * T * T), gq(n), gk(n), gv(n);
    kernels::ref::attention_forward(q.data(), k.data(), v.data(), out.data(), probs.data(), T, D, causal, scale,
                                    int64_t{0}, BH);
    kernels::ref::attention_backward(q.data(), k.data(), v.data(), probs.data(), go.data(), gq.data(), gk.data(),
                                     gv.data(), T, D, causal, scale, int64_t{0}, BH);
    std::vector<float> outf(n), probsf(BH * T * T), gqf(n), gkf(n), gvf(n);
    kernels::cpu::attention_forward(qf.data(), kf.data(), vf.data(), outf.data(), probsf.data(), BH, T, D, causal,
                                    float(scale));
    kernels::cpu::attention_backward(qf.data(), kf.data(), vf.data(), probsf.data(), gof.data(), gqf.data(),
                                     gkf.data(), gvf.data(), BH, T, D, causal, float(scale));
    auto check = [](const std::vector<float>& got, const std::vector<double>& want, const char* what) {
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-4 * std::max(1.0, std::abs(want[i]))) << what << " element " << i;
    };
    check(outf, out, "out");
    check(probsf, probs, "probs");
    check(gqf, gq, "gq");
    check(gkf, gk, "gk");
    check(gvf, gv, "gv");
  }
}

TEST(Attention, BadInputsThrow) {
  Tensor q = rand32({1, 2, 3, 4}, 80);
  EXPECT_THROW(attention(q.view({2, 3, 4}), q.view({2, 3, 4}), q.view({2, 3, 4}), false), Error);  // not 4-D
  EXPECT_THROW(attention(q, rand32({1, 2, 5, 4}, 81), q, false), Error);                           // T differs
  EXPECT_THROW(attention(q, q, rand32({1, 2, 3, 2}, 82), false), Error);                           // D differs
  EXPECT_THROW(attention(q, q.to(DType::f64), q, false), Error);                                   // dtype mix
  Tensor ints = Tensor::zeros({1, 2, 3, 4}, DType::i64);
  EXPECT_THROW(attention(ints, ints, ints, false), Error);
  Tensor empty_d = Tensor::zeros({1, 2, 3, 0});
  EXPECT_THROW(attention(empty_d, empty_d, empty_d, false), Error);
  try {
    attention(q, rand32({1, 2, 5, 4}, 81), q, false);
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attention"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[1, 2, 5, 4]"), std::string::npos) << e.what();
  }
}
