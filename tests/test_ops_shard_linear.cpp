// shard_linear (NeuroShard's layer as one op): forward against the composite of views,
// products and elementwise ops it replaced, float64 gradient checks for all five inputs
// (contiguous and transposed x), and errors naming the shapes.
#include "moe/ops/shard_linear.h"

#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// The formula of models/neuroshard.h as plain ops.
Tensor composite(const Tensor& x, const Tensor& alpha, const Tensor& w, const Tensor& u, const Tensor& v) {
  const int64_t B = x.size(0), D = x.size(1), S = u.size(0), R = u.size(2);
  Tensor vx = linear(x, v.reshape({S * R, D}));
  Tensor mixed = mul(vx.reshape({B, S, R}), alpha.unsqueeze(-1)).reshape({B, S * R});
  Tensor u_cat = u.permute({1, 0, 2}).reshape({D, S * R});
  return add(linear(x, w), linear(mixed, u_cat));
}

}  // namespace

TEST(ShardLinear, ForwardMatchesTheComposite) {
  for (auto [B, D, S, R] : {std::array<int64_t, 4>{1, 5, 3, 2}, {4, 6, 2, 3}, {2, 64, 4, 4}}) {
    Tensor x = rand64({B, D}, 1), alpha = rand64({B, S}, 2), w = rand64({D, D}, 3);
    Tensor u = rand64({S, D, R}, 4), v = rand64({S, R, D}, 5);
    expect_tensors_close(shard_linear(x, alpha, w, u, v), composite(x, alpha, w, u, v), 1e-12);
    expect_tensors_close(shard_linear(x.to(DType::f32), alpha.to(DType::f32), w.to(DType::f32), u.to(DType::f32),
                                      v.to(DType::f32)),
                         composite(x, alpha, w, u, v), 1e-5);
  }
}

TEST(ShardLinear, GradcheckAllInputs) {
  auto f = [](const std::vector<Tensor>& in) { return shard_linear(in[0], in[1], in[2], in[3], in[4]); };
  EXPECT_GRADCHECK(f, {rand64({1, 5}, 6), rand64({1, 3}, 7), rand64({5, 5}, 8), rand64({3, 5, 2}, 9),
                       rand64({3, 2, 5}, 10)});
  EXPECT_GRADCHECK(f, {rand64({3, 4}, 11), rand64({3, 2}, 12), rand64({4, 4}, 13), rand64({2, 4, 3}, 14),
                       rand64({2, 3, 4}, 15)});
  auto transposed_x = [](const std::vector<Tensor>& in) {
    return shard_linear(in[0].t(), in[1], in[2], in[3], in[4]);
  };
  EXPECT_GRADCHECK(transposed_x, {rand64({4, 3}, 16), rand64({3, 2}, 17), rand64({4, 4}, 18), rand64({2, 4, 3}, 19),
                                  rand64({2, 3, 4}, 20)});
}

TEST(ShardLinear, GradientsMatchTheComposite) {
  // Only some inputs requiring grad: the others get none, the rest match the composite.
  Tensor x = rand64({2, 6}, 21), alpha = rand64({2, 3}, 22).set_requires_grad(true);
  Tensor w = rand64({6, 6}, 23), u = rand64({3, 6, 2}, 24).set_requires_grad(true), v = rand64({3, 2, 6}, 25);
  Tensor alpha2 = alpha.detach().clone().set_requires_grad(true), u2 = u.detach().clone().set_requires_grad(true);
  Tensor wsum = rand64({2, 6}, 26);
  sum(mul(shard_linear(x, alpha, w, u, v), wsum)).backward();
  sum(mul(composite(x, alpha2, w, u2, v), wsum)).backward();
  expect_tensors_close(alpha.grad(), alpha2.grad(), 1e-12);
  expect_tensors_close(u.grad(), u2.grad(), 1e-12);
  EXPECT_FALSE(x.grad().defined());
}

TEST(ShardLinear, BadInputThrows) {
  Tensor x = rand64({2, 4}, 1), alpha = rand64({2, 3}, 2), w = rand64({4, 4}, 3);
  Tensor u = rand64({3, 4, 2}, 4), v = rand64({3, 2, 4}, 5);
  EXPECT_THROW(shard_linear(x, alpha, w, u, rand64({3, 4, 2}, 6)), Error);      // v not (S, R, D)
  EXPECT_THROW(shard_linear(x, rand64({2, 2}, 7), w, u, v), Error);             // alpha not (B, S)
  EXPECT_THROW(shard_linear(x, alpha, rand64({4, 3}, 8), u, v), Error);         // w not (D, D)
  EXPECT_THROW(shard_linear(rand64({2, 5}, 9), alpha, w, u, v), Error);         // D mismatch
  EXPECT_THROW(shard_linear(x.to(DType::f32), alpha, w, u, v), Error);          // mixed dtypes
  EXPECT_THROW(shard_linear(Tensor::zeros({2, 4}, DType::i64), alpha, w, u, v), Error);
  try {
    shard_linear(x, alpha, w, u, rand64({3, 4, 2}, 6));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shard_linear"), std::string::npos) << e.what();
  }
}
