// The autograd engine: accumulation, NoGradGuard, deep graphs, views, errors.
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(Autograd, SimpleChainAndAccumulation) {
  Tensor x = Tensor::from_list({1, 2, 3}, {3}).set_requires_grad(true);
  Tensor y = sum(mul(x, x));  // dy/dx = 2x
  y.backward();
  expect_close(x.grad(), {2, 4, 6});
  Tensor y2 = sum(mul(x, 3.0));
  y2.backward();  // accumulates
  expect_close(x.grad(), {5, 7, 9});
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, SharedInputUsedTwice) {
  Tensor x = Tensor::from_list({2}, {1}).set_requires_grad(true);
  Tensor y = add(x, x);  // the same gradient object flows to both edges
  sum(mul(y, y)).backward();
  expect_close(x.grad(), {16});  // d/dx (2x)^2 = 8x
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  {
    NoGradGuard g;
    Tensor y = mul(x, 2.0);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  EXPECT_TRUE(mul(x, 2.0).requires_grad());
}

TEST(Autograd, DeepGraphDoesNotOverflow) {
  Tensor x = Tensor::ones({1}).set_requires_grad(true);
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = add(y, 1e-3);
  y.backward();
  expect_close(x.grad(), {1});
}

TEST(Autograd, ErrorsAreClear) {
  Tensor x = Tensor::ones({2});
  EXPECT_THROW(sum(x).backward(), Error);
  Tensor w = Tensor::ones({2}).set_requires_grad(true);
  EXPECT_THROW(mul(w, 2.0).backward(), Error);  // not a scalar
  EXPECT_THROW(Tensor::ones({2}, DType::i64).set_requires_grad(true), Error);
  EXPECT_THROW(mul(w, 2.0).set_requires_grad(false), Error);
}

TEST(Autograd, LeafGradIsNotAliased) {
  // add's backward returns one gradient tensor for both inputs: the two leaves must
  // not share it (clipping scales .grad in place).
  Tensor a = Tensor::ones({2}).set_requires_grad(true);
  Tensor b = Tensor::ones({2}).set_requires_grad(true);
  sum(add(a, b)).backward();
  EXPECT_NE(a.grad().impl()->storage, b.grad().impl()->storage);
}

TEST(Autograd, DetachStopsGradient) {
  Tensor x = Tensor::from_list({3}, {1}).set_requires_grad(true);
  Tensor y = mul(x, x.detach());
  sum(y).backward();
  expect_close(x.grad(), {3});
}

TEST(Autograd, ViewGradients) {
  auto f = [](const std::vector<Tensor>& in) {
    const Tensor& x = in[0];  // (2, 3, 4)
    Tensor a = x.permute({2, 0, 1}).slice(0, 1, 4, 2).reshape({2, 6});
    Tensor b = x.select(1, 2).t().unsqueeze(0).squeeze(0);  // (4, 2)
    Tensor c = x.slice(2, 0, 1).expand({3, 2, 3, 4});
    return add(sum(mul(a, a), {1}), sum(add(b, 0.0), {0})) + sum(c);
  };
  EXPECT_GRADCHECK(f, {rand64({2, 3, 4}, 1)});
}

TEST(Autograd, CloneAndTo) {
  auto f = [](const std::vector<Tensor>& in) { return square(in[0].t().clone().to(DType::f32).to(DType::f64)); };
  // float32 round trip loses precision: a loose check that the path is connected.
  EXPECT_GRADCHECK(f, {rand64({2, 3}, 2)}, 1e-3, 1e-3, 1e-3);
}

// Embedding gradients say which rows can be nonzero (TensorImpl::nonzero_rows); the
// engine keeps the union through accumulation, and drops it when a dense gradient is
// added to the same leaf.
TEST(Autograd, EmbeddingGradientNonzeroRowsAccumulate) {
  Tensor table = Tensor::zeros({10, 3}).set_requires_grad(true);
  auto ids = [](std::vector<int64_t> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); };
  add(sum(embedding(table, ids({4, 1, 4}))), sum(embedding(table, ids({8, 1})))).backward();
  ASSERT_TRUE(table.grad().impl()->nonzero_rows);
  EXPECT_EQ(*table.grad().impl()->nonzero_rows, (std::vector<int64_t>{1, 4, 8}));
  // The values agree with the row list: rows outside it are zero.
  const std::vector<float> g = table.grad().to_vector<float>();
  for (int64_t r = 0; r < 10; ++r) {
    const float expect = r == 4 ? 2.0f : (r == 1 || r == 8) ? (r == 1 ? 2.0f : 1.0f) : 0.0f;
    for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(g[static_cast<size_t>(r * 3 + c)], expect) << r;
  }
  table.zero_grad();
  add(sum(embedding(table, ids({2}))), sum(table)).backward();  // + a dense gradient
  EXPECT_FALSE(table.grad().impl()->nonzero_rows);
}

// An embedding table's gradient goes straight into the leaf's .grad; zero_grad keeps
// it aside with its rows zeroed and the next backward reuses it. Gradients stay what a
// fresh dense gradient would be, and a .grad handle someone still holds is never
// written into.
TEST(Autograd, EmbeddingGradientBufferReuse) {
  Rng rng(8);
  Tensor table = Tensor::randn({12, 4}, rng).set_requires_grad(true);
  auto ids = [](std::vector<int64_t> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); };
  const Tensor w = Tensor::randn({3, 4}, rng);
  auto expected = [&](const std::vector<int64_t>& used) {  // d sum(emb * w) / d table, by hand
    std::vector<float> g(12 * 4, 0.0f);
    const std::vector<float> wv = w.to_vector<float>();
    for (size_t i = 0; i < used.size(); ++i)
      for (int64_t c = 0; c < 4; ++c) g[static_cast<size_t>(used[i] * 4 + c)] += wv[i * 4 + static_cast<size_t>(c)];
    return g;
  };
  const std::vector<std::vector<int64_t>> steps = {{1, 5, 1}, {7, 2, 11}, {5, 5, 0}};
  Tensor held;
  for (size_t s = 0; s < steps.size(); ++s) {
    table.zero_grad();
    EXPECT_FALSE(table.grad().defined());
    sum(mul(embedding(table, ids(steps[s])), w)).backward();
    EXPECT_EQ(table.grad().to_vector<float>(), expected(steps[s])) << "step " << s;
    if (s == 1) held = table.grad();  // a handle kept across the next zero_grad + backward
  }
  EXPECT_EQ(held.to_vector<float>(), expected(steps[1]));
  // Two uses in one backward accumulate; a held .grad is copied, not written into.
  table.zero_grad();
  sum(mul(embedding(table, ids({3, 4, 3})), w)).backward();
  Tensor first = table.grad();
  sum(mul(embedding(table, ids({4, 9, 9})), w)).backward();
  EXPECT_EQ(first.to_vector<float>(), expected({3, 4, 3}));
  std::vector<float> both = expected({3, 4, 3});
  const std::vector<float> more = expected({4, 9, 9});
  for (size_t i = 0; i < both.size(); ++i) both[i] += more[i];
  EXPECT_EQ(table.grad().to_vector<float>(), both);
  EXPECT_EQ(*table.grad().impl()->nonzero_rows, (std::vector<int64_t>{3, 4, 9}));
}
