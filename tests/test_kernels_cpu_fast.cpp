// The cpu:: kernels rewritten for speed (issue 8) against their ref:: loops: ReLU's
// branch-free backward (separate, in place, odd lengths) and AdamW/Adam's blocked,
// vector-sqrt update, which must give the ref:: loop's bits exactly.
#include "moe/kernels/kernels.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(CpuFastKernels, ReluBackwardMatchesRef) {
  for (int64_t n : {1, 7, 64, 1003, 100001}) {
    std::vector<float> x = rand32({n}, 1).to_vector<float>(), gy = rand32({n}, 2).to_vector<float>();
    x[0] = 0.0f;  // the kink: ReLU's derivative at 0 is 0 here
    std::vector<float> got(n), want(n);
    kernels::cpu::unary_backward(kernels::Unary::relu, x.data(), nullptr, gy.data(), got.data(), n, 0.0f);
    kernels::ref::unary_backward(kernels::Unary::relu, x.data(), static_cast<const float*>(nullptr), gy.data(),
                                 want.data(), n, 0.0f);
    EXPECT_EQ(got, want) << "n = " << n;
    std::vector<float> inplace = gy;  // gx aliasing gy
    kernels::cpu::unary_backward(kernels::Unary::relu, x.data(), nullptr, inplace.data(), inplace.data(), n, 0.0f);
    EXPECT_EQ(inplace, want) << "in place, n = " << n;
  }
}

TEST(CpuFastKernels, AdamUpdateMatchesRefBitForBit) {
  struct Case {
    double weight_decay;
    bool decoupled;
  };
  for (Case c : {Case{0.0, true}, Case{0.01, true}, Case{0.05, false}}) {
    for (int64_t n : {1, 255, 256, 257, 4099, 200003}) {
      std::vector<float> p = rand32({n}, 1).to_vector<float>(), g = rand32({n}, 2).to_vector<float>();
      std::vector<float> m = rand32({n}, 3, -0.1, 0.1).to_vector<float>();
      std::vector<float> v = rand32({n}, 4, 0, 0.01).to_vector<float>();
      kernels::AdamHyper h;
      h.lr = 3e-3, h.beta1 = 0.9, h.beta2 = 0.999, h.eps = 1e-8, h.weight_decay = c.weight_decay;
      h.decoupled_weight_decay = c.decoupled;
      h.step = 3;
      auto p2 = p, m2 = m, v2 = v;
      kernels::cpu::adam_update(p.data(), g.data(), m.data(), v.data(), n, h);
      kernels::ref::adam_update(p2.data(), g.data(), m2.data(), v2.data(), n, h);
      EXPECT_EQ(p, p2) << "n = " << n << " wd " << c.weight_decay;
      EXPECT_EQ(m, m2);
      EXPECT_EQ(v, v2);
    }
  }
}

TEST(CpuFastKernels, SumSquaresAgreesWithRefToRounding) {
  for (int64_t n : {1, 7, 8, 9, 16385, 200003}) {
    std::vector<float> x = rand32({n}, 9, -3, 3).to_vector<float>();
    const double want = kernels::ref::sum_squares(x.data(), n);
    EXPECT_NEAR(kernels::cpu::sum_squares(x.data(), n), want, 1e-11 * want) << "n = " << n;
  }
}
