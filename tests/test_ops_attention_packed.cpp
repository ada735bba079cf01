// attention_packed: q, k, v read from one (B, T, 3, H, D) tensor, gradients written back
// into one: forward and gradients equal attention() on the three permuted selects,
// float64 gradchecks on contiguous, sliced and permuted inputs, causal and not, and bad
// shapes rejected with the op's name.
#include "moe/moe.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// The unpacked reference: three selects of the packed tensor, permuted to (B, H, T, D).
Tensor attention_unpacked(const Tensor& qkv, bool causal) {
  auto part = [&](int64_t i) { return qkv.select(2, i).permute({0, 2, 1, 3}); };
  return attention(part(0), part(1), part(2), causal);
}

}  // namespace

TEST(AttentionPacked, ForwardAndGradientsEqualTheUnpackedOp) {
  for (DType dt : {DType::f32, DType::f64}) {
    for (bool causal : {true, false}) {
      Tensor base = rand64({2, 5, 3, 2, 4}, 1).to(dt);
      Tensor a = base.detach().set_requires_grad(true), b = base.detach().clone().set_requires_grad(true);
      Tensor ya = attention_packed(a, causal), yb = attention_unpacked(b, causal);
      expect_tensors_close(ya, yb, dt == DType::f32 ? 1e-6 : 1e-12);
      Tensor gy = rand64(ya.shape(), 2).to(dt);
      ya.backward(gy);
      yb.backward(gy);
      expect_tensors_close(a.grad(), b.grad(), dt == DType::f32 ? 1e-6 : 1e-12);
    }
  }
}

TEST(AttentionPacked, Gradcheck) {
  for (bool causal : {true, false}) {
    auto f = [causal](const std::vector<Tensor>& x) { return attention_packed(x[0], causal); };
    EXPECT_GRADCHECK(f, {rand64({1, 4, 3, 1, 3}, 3).set_requires_grad(true)});
    EXPECT_GRADCHECK(f, {rand64({2, 3, 3, 2, 2}, 4).set_requires_grad(true)});
    // Non-contiguous: a slice of the head dim, and a permutation of a (3, B, T, H, D) tensor.
    Tensor wide = rand64({2, 3, 3, 2, 3}, 5).set_requires_grad(true);
    EXPECT_GRADCHECK([causal](const std::vector<Tensor>& x) { return attention_packed(x[0].slice(4, 0, 2), causal); },
                     {wide});
    Tensor outer = rand64({3, 2, 4, 1, 2}, 6).set_requires_grad(true);
    EXPECT_GRADCHECK(
        [causal](const std::vector<Tensor>& x) { return attention_packed(x[0].permute({1, 2, 0, 3, 4}), causal); },
        {outer});
  }
}

TEST(AttentionPacked, RejectsBadShapes) {
  EXPECT_THROW(attention_packed(rand32({2, 4, 3, 8}, 1), true), Error);         // 4 dims
  EXPECT_THROW(attention_packed(rand32({2, 4, 2, 2, 4}, 1), true), Error);      // 2 parts, not 3
  EXPECT_THROW(attention_packed(rand32({2, 4, 3, 2, 0}, 1), true), Error);      // D = 0
  EXPECT_THROW(attention_packed(Tensor::zeros({1, 2, 3, 1, 2}, DType::i64), true), Error);
  try {
    attention_packed(rand32({2, 4, 2, 2, 4}, 1), true);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attention_packed"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[2, 4, 2, 2, 4]"), std::string::npos);
  }
}
