// nn layers: LayerNorm, RMSNorm, Embedding and MultiHeadAttention: parameter names,
// shapes and initialisation, forward against plain loops / a composed per-head graph,
// output dropout, errors, and float64 gradient checks w.r.t. the input and every
// parameter.
#include <cmath>
#include <functional>
#include <limits>

#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {



// Moves every parameter off its initial value (norm weights start at exactly 1, biases
// at 0), so forward tests and gradchecks exercise them.
void perturb_parameters(nn::Module& m, uint64_t seed) {
  NoGradGuard no_grad;
  for (auto& [name, p] : m.named_parameters()) {
    Rng rng(seed++);
    p.copy_(add(p, Tensor::rand(p.shape(), rng, -0.5, 0.5, p.dtype())));
  }
}

// Row-wise normalisation by plain loops over a contiguous (rows, C) layout.
std::vector<double> layer_norm_ref(const std::vector<double>& x, const std::vector<double>& w,
                                   const std::vector<double>& b, int64_t C, double eps) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / C; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < C; ++c) mean += x[r * C + c] / C;
    for (int64_t c = 0; c < C; ++c) var += (x[r * C + c] - mean) * (x[r * C + c] - mean) / C;
    for (int64_t c = 0; c < C; ++c) {
      const double n = (x[r * C + c] - mean) / std::sqrt(var + eps);
      y[r * C + c] = w.empty() ? n : n * w[c] + b[c];
    }
  }
  return y;
}

std::vector<double> rms_norm_ref(const std::vector<double>& x, const std::vector<double>& w, int64_t C, double eps) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / C; ++r) {
    double ms = 0;
    for (int64_t c = 0; c < C; ++c) ms += x[r * C + c] * x[r * C + c] / C;
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = x[r * C + c] / std::sqrt(ms + eps) * w[c];
  }
  return y;
}

// Multi-head attention composed from plain ops, one head at a time: scores by matmul,
// the causal mask as -inf by masked_fill, softmax, heads joined by concat.
Tensor mha_composed(const nn::MultiHeadAttention& mha, const Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), C = mha.d_model(), H = mha.heads(), D = mha.head_dim();
  // Without bias the lookup throws, so a bias-free module is composed without one.
  const bool has_bias = mha.named_parameters().size() == 4;
  auto param = [&](const std::string& name) {
    return has_bias || name.find("bias") == std::string::npos ? mha.parameter(name) : Tensor();
  };
  Tensor qkv = linear(x, param("qkv.weight"), param("qkv.bias"));  // (B, T, 3C)
  std::vector<double> above_diagonal(T * T, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t s = t + 1; s < T; ++s) above_diagonal[t * T + s] = 1.0;
  Tensor mask = Tensor::from_vector(above_diagonal, {T, T});
  std::vector<Tensor> heads;
  for (int64_t h = 0; h < H; ++h) {
    Tensor q = qkv.slice(2, h * D, (h + 1) * D);  // (B, T, D)
    Tensor k = qkv.slice(2, C + h * D, C + (h + 1) * D);
    Tensor v = qkv.slice(2, 2 * C + h * D, 2 * C + (h + 1) * D);
    Tensor scores = mul(matmul(q, k.transpose(1, 2)), 1.0 / std::sqrt(static_cast<double>(D)));  // (B, T, T)
    if (mha.causal()) scores = masked_fill(scores, mask, -std::numeric_limits<double>::infinity());
    heads.push_back(matmul(softmax(scores, -1), v));
  }
  Tensor y = concat(heads, 2);
  EXPECT_EQ(y.shape(), (Shape{B, T, C}));
  return linear(y, param("proj.weight"), param("proj.bias"));
}

}  // namespace

TEST(LayerNorm, NamesInitAndForward) {
  const int64_t C = 6;
  nn::LayerNorm ln(C, 1e-5, true, DType::f64);
  EXPECT_EQ(names_of(ln.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(shapes_of(ln.named_parameters()), (std::vector<Shape>{{C}, {C}}));
  EXPECT_EQ(ln.num_parameters(), 2 * C);
  expect_close(ln.weight(), std::vector<double>(C, 1.0), 0);
  expect_close(ln.bias(), std::vector<double>(C, 0.0), 0);
  EXPECT_EQ(nn::LayerNorm(C).weight().dtype(), DType::f32);

  perturb_parameters(ln, 1);
  Tensor x = rand64({2, 3, C}, 2, -2.0, 2.0);
  Tensor y = ln(x);
  EXPECT_EQ(y.shape(), x.shape());
  expect_close(y, layer_norm_ref(x.to_vector<double>(), ln.weight().to_vector<double>(),
                                 ln.bias().to_vector<double>(), C, 1e-5), 1e-12);
  // A large eps shows it is used.
  nn::LayerNorm wide_eps(C, 0.5, true, DType::f64);
  expect_close(wide_eps(x), layer_norm_ref(x.to_vector<double>(), std::vector<double>(C, 1.0),
                                           std::vector<double>(C, 0.0), C, 0.5), 1e-12);
  // A transposed input normalises its own last dim.
  Tensor xt = rand64({C, 4}, 3).t();
  expect_close(ln(xt), layer_norm_ref(xt.to_vector<double>(), ln.weight().to_vector<double>(),
                                      ln.bias().to_vector<double>(), C, 1e-5), 1e-12);

  nn::LayerNorm plain(C, 1e-5, false, DType::f64);
  EXPECT_TRUE(plain.named_parameters().empty());
  EXPECT_FALSE(plain.weight().defined());
  expect_close(plain(x), layer_norm_ref(x.to_vector<double>(), {}, {}, C, 1e-5), 1e-12);

  EXPECT_THROW(ln(rand64({2, C + 1}, 4)), Error);
  EXPECT_THROW(nn::LayerNorm(0), Error);
  EXPECT_THROW(nn::LayerNorm(C, 0.0), Error);
}

TEST(LayerNorm, Gradcheck) {
  nn::LayerNorm ln(5, 1e-5, true, DType::f64);
  perturb_parameters(ln, 5);
  expect_module_gradcheck(ln, {rand64({4, 5}, 6)}, [&](const auto& in) { return ln(in[0]); });
  expect_module_gradcheck(ln, {rand64({2, 5, 3}, 7)}, [&](const auto& in) { return ln(in[0].transpose(1, 2)); });
  nn::LayerNorm plain(5, 1e-5, false, DType::f64);
  expect_module_gradcheck(plain, {rand64({3, 5}, 8)}, [&](const auto& in) { return plain(in[0]); });
}

TEST(RMSNorm, NamesInitAndForward) {
  const int64_t C = 5;
  nn::RMSNorm norm(C, 1e-6, DType::f64);
  EXPECT_EQ(names_of(norm.named_parameters()), (std::vector<std::string>{"weight"}));
  EXPECT_EQ(shapes_of(norm.named_parameters()), (std::vector<Shape>{{C}}));
  expect_close(norm.weight(), std::vector<double>(C, 1.0), 0);
  EXPECT_DOUBLE_EQ(norm.eps(), 1e-6);
  EXPECT_EQ(nn::RMSNorm(C).weight().dtype(), DType::f32);

  perturb_parameters(norm, 9);
  Tensor x = rand64({3, 2, C}, 10, -2.0, 2.0);
  expect_close(norm(x), rms_norm_ref(x.to_vector<double>(), norm.weight().to_vector<double>(), C, 1e-6), 1e-12);
  nn::RMSNorm wide_eps(C, 0.5, DType::f64);
  expect_close(wide_eps(x), rms_norm_ref(x.to_vector<double>(), std::vector<double>(C, 1.0), C, 0.5), 1e-12);
  EXPECT_THROW(norm(rand64({2, C - 1}, 11)), Error);
  EXPECT_THROW(nn::RMSNorm(-1), Error);
}

TEST(RMSNorm, Gradcheck) {
  nn::RMSNorm norm(4, 1e-6, DType::f64);
  perturb_parameters(norm, 12);
  expect_module_gradcheck(norm, {rand64({3, 4}, 13)}, [&](const auto& in) { return norm(in[0]); });
  expect_module_gradcheck(norm, {rand64({4, 2, 3}, 14)},
                          [&](const auto& in) { return norm(in[0].permute({1, 2, 0})); });
}

TEST(Embedding, NamesInitAndLookup) {
  const int64_t V = 7, D = 3;
  Rng rng(15);
  nn::Embedding emb(V, D, rng, DType::f64);
  EXPECT_EQ(names_of(emb.named_parameters()), (std::vector<std::string>{"weight"}));
  EXPECT_EQ(shapes_of(emb.named_parameters()), (std::vector<Shape>{{V, D}}));
  // N(0, 1), drawn as Tensor::randn from the same generator state.
  Rng rng2(15);
  expect_tensors_close(emb.weight(), Tensor::randn({V, D}, rng2, 1.0, DType::f64), 0);
  Rng big_rng(16);
  nn::Embedding big(500, 20, big_rng);
  std::vector<double> w = big.weight().to_vector<double>();
  double mean = 0, var = 0;
  for (double v : w) mean += v / w.size();
  for (double v : w) var += (v - mean) * (v - mean) / w.size();
  EXPECT_NEAR(mean, 0.0, 0.03);
  EXPECT_NEAR(var, 1.0, 0.05);

  Tensor ids = Tensor::from_vector<int64_t>({3, 0, 6, 3, 1, 2}, {2, 3});
  Tensor y = emb(ids);
  EXPECT_EQ(y.shape(), (Shape{2, 3, D}));
  std::vector<double> table = emb.weight().to_vector<double>(), want;
  for (int64_t id : ids.to_vector<int64_t>())
    for (int64_t d = 0; d < D; ++d) want.push_back(table[id * D + d]);
  expect_close(y, want, 0);
  EXPECT_EQ(emb(Tensor::from_vector<int64_t>({5}, {})).shape(), (Shape{D}));
  EXPECT_THROW(emb(Tensor::from_vector<int64_t>({7}, {1})), Error);
  EXPECT_THROW(emb(rand64({2}, 1)), Error);
  EXPECT_THROW(nn::Embedding(0, D, rng), Error);
}

TEST(Embedding, Gradcheck) {
  Rng rng(17);
  nn::Embedding emb(5, 3, rng, DType::f64);
  // Repeated ids accumulate their rows' gradients.
  Tensor ids = Tensor::from_vector<int64_t>({4, 1, 4, 0, 1, 4}, {3, 2});
  expect_module_gradcheck(emb, {}, [&](const auto&) { return emb(ids); });
  // Composed with a float input so the input path is checked too.
  expect_module_gradcheck(emb, {rand64({3, 2, 3}, 18)}, [&](const auto& in) { return mul(emb(ids), in[0]); });
}

TEST(MultiHeadAttention, NamesShapesAndInit) {
  Rng rng(19);
  const int64_t C = 8, H = 2;
  nn::MultiHeadAttention mha(C, H, true, rng, true, 0.0, DType::f64);
  EXPECT_EQ(names_of(mha.named_parameters()),
            (std::vector<std::string>{"qkv.weight", "qkv.bias", "proj.weight", "proj.bias"}));
  EXPECT_EQ(shapes_of(mha.named_parameters()), (std::vector<Shape>{{3 * C, C}, {3 * C}, {C, C}, {C}}));
  EXPECT_EQ(mha.num_parameters(), 3 * C * C + 3 * C + C * C + C);
  EXPECT_EQ(mha.head_dim(), 4);
  for (const auto& [name, p] : mha.named_parameters())
    for (double v : p.to_vector<double>()) EXPECT_LE(std::abs(v), 1.0 / std::sqrt(double(C))) << name;
  nn::MultiHeadAttention no_bias(C, H, false, rng, false);
  EXPECT_EQ(names_of(no_bias.named_parameters()), (std::vector<std::string>{"qkv.weight", "proj.weight"}));
  EXPECT_EQ(no_bias.parameter("qkv.weight").dtype(), DType::f32);
}

TEST(MultiHeadAttention, ForwardMatchesPerHeadComposition) {
  for (bool causal : {true, false})
    for (bool bias : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "causal " << causal << " bias " << bias);
      Rng rng(20);
      nn::MultiHeadAttention mha(12, 3, causal, rng, bias, 0.0, DType::f64);
      Tensor x = rand64({2, 5, 12}, 21, -2.0, 2.0);
      Tensor y = mha(x);
      EXPECT_EQ(y.shape(), (Shape{2, 5, 12}));
      expect_tensors_close(y, mha_composed(mha, x), 1e-12);
      // Gradients agree with the composed graph's too.
      Tensor w = rand64({2, 5, 12}, 22);
      auto grads = [&](const Tensor& out) {
        for (auto& p : mha.parameters()) p.zero_grad();
        sum(mul(out, w)).backward();
        std::vector<Tensor> g;
        for (auto& p : mha.parameters()) g.push_back(p.grad());
        return g;
      };
      std::vector<Tensor> fused = grads(mha(x)), composed = grads(mha_composed(mha, x));
      for (size_t i = 0; i < fused.size(); ++i) expect_tensors_close(fused[i], composed[i], 1e-12);
      // A strided input gives the same as its contiguous copy.
      Tensor xt = rand64({12, 5, 2}, 23).permute({2, 1, 0});
      expect_tensors_close(mha(xt), mha(xt.contiguous()), 1e-14);
    }
}

TEST(MultiHeadAttention, CausalRowsIgnoreTheFuture) {
  Rng rng(24);
  nn::MultiHeadAttention mha(6, 2, true, rng, true, 0.0, DType::f64);
  Tensor x = rand64({1, 4, 6}, 25);
  std::vector<double> changed = x.to_vector<double>();
  for (int64_t c = 0; c < 6; ++c) changed[3 * 6 + c] += 1.0;  // only the last position
  std::vector<double> a = mha(x).to_vector<double>();
  std::vector<double> b = mha(Tensor::from_vector(changed, {1, 4, 6})).to_vector<double>();
  for (int64_t i = 0; i < 3 * 6; ++i) EXPECT_EQ(a[i], b[i]) << i;
  double last_diff = 0;
  for (int64_t i = 3 * 6; i < 4 * 6; ++i) last_diff += std::abs(a[i] - b[i]);
  EXPECT_GT(last_diff, 1e-3);
}

TEST(MultiHeadAttention, OutputDropout) {
  Rng rng(26);
  nn::MultiHeadAttention mha(8, 2, true, rng, true, 0.5, DType::f64);
  EXPECT_DOUBLE_EQ(mha.dropout(), 0.5);
  Tensor x = rand64({2, 3, 8}, 27);
  // Training with dropout needs a generator.
  EXPECT_THROW(mha(x), Error);
  // It is dropout applied to the projection's output, drawing from the given generator.
  Rng drop_rng(28), same_rng(28);
  Tensor y = mha(x, &drop_rng);
  mha.eval();
  Tensor clean = mha(x);  // evaluation needs no generator and drops nothing
  EXPECT_EQ(drop_rng.offset(), uint64_t(2 * 3 * 8 / 4));  // four mask draws per counter
  expect_tensors_close(y, dropout(clean, 0.5, true, same_rng), 1e-14);
  Rng unused(29);
  expect_tensors_close(mha(x, &unused), clean, 0);
  EXPECT_EQ(unused.offset(), 0u);
  mha.train();
  int zeros = 0;
  for (double v : y.to_vector<double>()) zeros += v == 0.0;
  EXPECT_GT(zeros, 0);
  EXPECT_LT(zeros, 2 * 3 * 8);
  // Training without dropout needs no generator.
  nn::MultiHeadAttention no_drop(8, 2, true, rng, true, 0.0, DType::f64);
  EXPECT_EQ(no_drop(x).shape(), x.shape());
}

TEST(MultiHeadAttention, Errors) {
  Rng rng(30);
  EXPECT_THROW(nn::MultiHeadAttention(10, 3, true, rng), Error);  // 10 % 3 != 0
  EXPECT_THROW(nn::MultiHeadAttention(8, 0, true, rng), Error);
  EXPECT_THROW(nn::MultiHeadAttention(8, 2, true, rng, true, 1.0), Error);
  EXPECT_THROW(nn::MultiHeadAttention(8, 2, true, rng, true, -0.1), Error);
  nn::MultiHeadAttention mha(8, 2, true, rng, true, 0.0, DType::f64);
  try {
    mha(rand64({2, 3, 6}, 1));
    ADD_FAILURE() << "expected an error for a wrong model dim";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MultiHeadAttention"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[2, 3, 6]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mha(rand64({3, 8}, 1)), Error);
}

TEST(MultiHeadAttention, Gradcheck) {
  for (bool causal : {true, false}) {
    SCOPED_TRACE(causal ? "causal" : "full");
    Rng rng(31);
    nn::MultiHeadAttention mha(6, 2, causal, rng, true, 0.0, DType::f64);
    expect_module_gradcheck(mha, {rand64({2, 4, 6}, 32)}, [&](const auto& in) { return mha(in[0]); });
    // A permuted (non-contiguous) input, one head per dim.
    nn::MultiHeadAttention per_dim(4, 4, causal, rng, false, 0.0, DType::f64);
    expect_module_gradcheck(per_dim, {rand64({3, 4, 2}, 33)},
                            [&](const auto& in) { return per_dim(in[0].permute({2, 0, 1})); });
  }
  // Through the dropout mask, with the generator reset for every evaluation.
  Rng rng(34);
  nn::MultiHeadAttention drop(4, 2, true, rng, true, 0.3, DType::f64);
  expect_module_gradcheck(drop, {rand64({1, 3, 4}, 35)}, [&](const auto& in) {
    Rng mask_rng(36);
    return drop(in[0], &mask_rng);
  });
}
