// nn modules: Module's naming, registration order and modes; Linear, LowRankLinear,
// MLP, SwiGLU and LSTMCell against plain-loop references, and float64 gradient checks
// of each module w.r.t. its input and all its parameters.
#include <cmath>
#include <functional>

#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {



// y[r][o] = sum_i x[r][i] w[o][i] + b[o], x: (rows, in) flattened.
std::vector<double> linear_ref(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
                               int64_t in, int64_t out) {
  const int64_t rows = static_cast<int64_t>(x.size()) / in;
  std::vector<double> y(static_cast<size_t>(rows * out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) acc += x[r * in + i] * w[o * in + i];
      y[r * out + o] = acc;
    }
  return y;
}

double sigmoid_ref(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// A block with its own parameter and nested children, for naming tests.
class Attn : public nn::Module {
 public:
  explicit Attn(Rng& rng) {
    qkv_ = register_module("qkv", std::make_shared<nn::Linear>(4, 12, rng, true, DType::f64));
    proj_ = register_module("proj", std::make_shared<nn::Linear>(4, 4, rng, false, DType::f64));
  }
  std::shared_ptr<nn::Linear> qkv_, proj_;
};

class Block : public nn::Module {
 public:
  explicit Block(Rng& rng) {
    attn_ = register_module("attn", std::make_shared<Attn>(rng));
    scale_ = Tensor::ones({4}, DType::f64);
    register_parameter("scale", scale_);  // registered after the child, listed before it (as torch)
  }
  std::shared_ptr<Attn> attn_;
  Tensor scale_;
};

class Net : public nn::Module {
 public:
  Net(Rng& rng, int n_blocks) {
    blocks_ = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (int i = 0; i < n_blocks; ++i) blocks_->push_back(std::make_shared<Block>(rng));
  }
  std::shared_ptr<nn::ModuleList> blocks_;
  using nn::Module::register_parameter;  // for the error tests
};

}  // namespace

TEST(Module, DottedNamesInRegistrationOrder) {
  Rng rng(1);
  Net net(rng, 4);
  const nn::NamedTensors named = net.named_parameters();
  ASSERT_EQ(named.size(), 4u * 4u);
  const std::vector<std::string> names = names_of(named);
  EXPECT_EQ(names[0], "blocks.0.scale");
  EXPECT_EQ(std::vector<std::string>(names.begin() + 12, names.end()),
            (std::vector<std::string>{"blocks.3.scale", "blocks.3.attn.qkv.weight", "blocks.3.attn.qkv.bias",
                                      "blocks.3.attn.proj.weight"}));
  EXPECT_EQ(net.num_parameters(), 4 * (4 + 12 * 4 + 12 + 4 * 4));
  EXPECT_EQ(net.parameters().size(), named.size());
  // The handles are the module's own tensors.
  auto block3 = std::dynamic_pointer_cast<Block>((*net.blocks_)[3]);
  ASSERT_NE(block3, nullptr);
  EXPECT_TRUE(net.parameter("blocks.3.attn.qkv.weight").same(block3->attn_->qkv_->weight()));
  for (const auto& [name, p] : named) EXPECT_TRUE(p.requires_grad()) << name;
}

TEST(Module, TrainEvalPropagates) {
  Rng rng(1);
  Net net(rng, 2);
  EXPECT_TRUE(net.is_training());
  net.eval();
  auto block1 = std::dynamic_pointer_cast<Block>((*net.blocks_)[1]);
  EXPECT_FALSE(net.blocks_->is_training());
  EXPECT_FALSE(block1->attn_->qkv_->is_training());
  // A child added to a module in eval mode joins it in eval mode.
  auto late = net.blocks_->push_back(std::make_shared<Block>(rng));
  EXPECT_FALSE(late->attn_->proj_->is_training());
  net.train();
  EXPECT_TRUE(late->attn_->proj_->is_training());
  EXPECT_TRUE(block1->attn_->qkv_->is_training());
}

TEST(Module, NameErrors) {
  Rng rng(1);
  Net net(rng, 1);
  Tensor t = Tensor::zeros({2});
  EXPECT_THROW(net.register_parameter("blocks", t), Error);  // taken by a child
  EXPECT_THROW(net.register_parameter("a.b", t), Error);
  EXPECT_THROW(net.register_parameter("", t), Error);
  Tensor undefined;
  EXPECT_THROW(net.register_parameter("u", undefined), Error);
  Tensor ints = Tensor::zeros({2}, DType::i64);
  EXPECT_THROW(net.register_parameter("i", ints), Error);
  EXPECT_THROW(net.parameter("blocks.0.attn.nope.weight"), Error);
  EXPECT_THROW(net.parameter("blocks.7.scale"), Error);
  EXPECT_THROW(net.set_parameter("blocks.0.scale", Tensor::ones({5}, DType::f64)), Error);  // shape
  EXPECT_THROW(net.set_parameter("blocks.0.scale", Tensor::ones({4}, DType::f32)), Error);  // dtype
  try {
    net.parameter("blocks.0.attn.nope.weight");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks.0.attn.nope.weight"), std::string::npos) << e.what();
  }
}

TEST(Module, InPlaceWritesThroughHandlesReachTheModule) {
  Rng rng(2);
  nn::Linear lin(3, 2, rng, true, DType::f64);
  for (auto& [name, p] : lin.named_parameters()) {
    NoGradGuard no_grad;
    p.fill_(name == "weight" ? 1.0 : 0.5);
  }
  expect_close(lin(Tensor::from_vector<double>({1, 2, 3}, {1, 3})), {6.5, 6.5}, 1e-12);
}

TEST(Linear, ShapesNamesInitAndForward) {
  Rng rng(3);
  nn::Linear lin(5, 3, rng, true, DType::f64);
  EXPECT_EQ(names_of(lin.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(shapes_of(lin.named_parameters()), (std::vector<Shape>{{3, 5}, {3}}));
  EXPECT_EQ(lin.num_parameters(), 18);
  EXPECT_EQ(lin.weight().dtype(), DType::f64);
  const double bound = 1.0 / std::sqrt(5.0);
  for (const auto& [name, p] : lin.named_parameters())
    for (double v : p.to_vector<double>()) EXPECT_LE(std::abs(v), bound) << name;
  Tensor x = rand64({2, 4, 5}, 10);
  Tensor y = lin(x);
  EXPECT_EQ(y.shape(), (Shape{2, 4, 3}));
  const std::vector<double> w = lin.weight().to_vector<double>(), b = lin.bias().to_vector<double>();
  expect_close(y, linear_ref(x.to_vector<double>(), w, b, 5, 3), 1e-12);
  // Same seed, same weights; float32 by default.
  Rng rng2(3);
  nn::Linear lin32(5, 3, rng2);
  EXPECT_EQ(lin32.weight().dtype(), DType::f32);
  expect_tensors_close(lin32.weight(), lin.weight(), 1e-6);
  nn::Linear no_bias(5, 3, rng, false);
  EXPECT_EQ(names_of(no_bias.named_parameters()), (std::vector<std::string>{"weight"}));
  EXPECT_THROW(lin(rand64({2, 4}, 1)), Error);
  EXPECT_THROW(nn::Linear(0, 3, rng), Error);
}

TEST(Linear, Gradcheck) {
  Rng rng(4);
  for (bool bias : {true, false}) {
    nn::Linear lin(4, 3, rng, bias, DType::f64);
    expect_module_gradcheck(lin, {rand64({5, 4}, 1)}, [&](const auto& in) { return lin(in[0]); });
    expect_module_gradcheck(lin, {rand64({2, 3, 4}, 2)}, [&](const auto& in) { return lin(in[0]); });
    // A transposed (non-contiguous) input.
    expect_module_gradcheck(lin, {rand64({4, 5}, 3)}, [&](const auto& in) { return lin(in[0].t()); });
  }
}

TEST(LowRankLinear, EqualsLinearWithExplicitProduct) {
  Rng rng(5);
  const int64_t in = 6, out = 4, rank = 2;
  nn::LowRankLinear lr(in, out, rank, rng, true, DType::f64);
  EXPECT_EQ(names_of(lr.named_parameters()), (std::vector<std::string>{"u", "v", "bias"}));
  EXPECT_EQ(shapes_of(lr.named_parameters()), (std::vector<Shape>{{out, rank}, {in, rank}, {out}}));
  EXPECT_EQ(lr.num_parameters(), out * rank + in * rank + out);
  // W = U V^T by hand.
  std::vector<double> u = lr.u().to_vector<double>(), v = lr.v().to_vector<double>(), w(out * in, 0.0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i)
      for (int64_t r = 0; r < rank; ++r) w[o * in + i] += u[o * rank + r] * v[i * rank + r];
  Tensor x = rand64({3, 2, in}, 6);
  Tensor y = lr(x);
  EXPECT_EQ(y.shape(), (Shape{3, 2, out}));
  expect_close(y, linear_ref(x.to_vector<double>(), w, lr.bias().to_vector<double>(), in, out), 1e-12);
  Tensor w_tensor = Tensor::from_vector(w, {out, in});
  expect_tensors_close(y, linear(x, w_tensor, lr.bias()), 1e-12);
  nn::LowRankLinear no_bias(in, out, rank, rng, false, DType::f64);
  EXPECT_EQ(names_of(no_bias.named_parameters()), (std::vector<std::string>{"u", "v"}));
  EXPECT_THROW(nn::LowRankLinear(in, out, 0, rng), Error);
}

TEST(LowRankLinear, Gradcheck) {
  Rng rng(7);
  for (bool bias : {true, false}) {
    nn::LowRankLinear lr(5, 4, 2, rng, bias, DType::f64);
    expect_module_gradcheck(lr, {rand64({3, 5}, 1)}, [&](const auto& in) { return lr(in[0]); });
    expect_module_gradcheck(lr, {rand64({5, 2, 3}, 2)}, [&](const auto& in) { return lr(in[0].permute({1, 2, 0})); });
  }
}

TEST(MLP, NamesForwardAndErrors) {
  Rng rng(8);
  nn::MLP mlp(4, 8, 3, "gelu", rng, true, DType::f64);
  EXPECT_EQ(names_of(mlp.named_parameters()),
            (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(shapes_of(mlp.named_parameters()), (std::vector<Shape>{{8, 4}, {8}, {3, 8}, {3}}));
  EXPECT_EQ(mlp.num_parameters(), 8 * 4 + 8 + 3 * 8 + 3);
  Tensor x = rand64({5, 4}, 9);
  Tensor y = mlp(x);
  EXPECT_EQ(y.shape(), (Shape{5, 3}));
  auto p = [&](const char* name) { return mlp.parameter(name).to_vector<double>(); };
  std::vector<double> h = linear_ref(x.to_vector<double>(), p("fc1.weight"), p("fc1.bias"), 4, 8);
  for (double& v : h) v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));  // exact GELU
  expect_close(y, linear_ref(h, p("fc2.weight"), p("fc2.bias"), 8, 3), 1e-12);
  try {
    nn::MLP bad(4, 8, 3, "swish", rng);
    ADD_FAILURE() << "expected an error for an unknown activation";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("swish"), std::string::npos) << e.what();
  }
}

TEST(MLP, Gradcheck) {
  Rng rng(10);
  for (const char* act : {"relu", "gelu", "silu", "tanh", "sigmoid"}) {
    SCOPED_TRACE(act);
    nn::MLP mlp(3, 5, 2, act, rng, true, DType::f64);
    // Inputs away from 0 keep relu's kink out of the finite differences' reach.
    expect_module_gradcheck(mlp, {rand64({4, 3}, 11, 0.2, 1.0)}, [&](const auto& in) { return mlp(in[0]); });
  }
  nn::MLP no_bias(3, 5, 2, "gelu", rng, false, DType::f64);
  expect_module_gradcheck(no_bias, {rand64({2, 3, 4}, 12)},
                          [&](const auto& in) { return no_bias(in[0].transpose(1, 2)); });
}

TEST(SwiGLU, NamesAndForward) {
  Rng rng(13);
  const int64_t d = 4, ff = 6;
  nn::SwiGLU ffn(d, ff, rng, DType::f64);
  EXPECT_EQ(names_of(ffn.named_parameters()), (std::vector<std::string>{"w1.weight", "w2.weight", "w3.weight"}));
  EXPECT_EQ(shapes_of(ffn.named_parameters()), (std::vector<Shape>{{ff, d}, {d, ff}, {ff, d}}));
  EXPECT_EQ(ffn.num_parameters(), 3 * d * ff);
  Tensor x = rand64({2, 3, d}, 14);
  Tensor y = ffn(x);
  EXPECT_EQ(y.shape(), (Shape{2, 3, d}));
  auto p = [&](const char* name) { return ffn.parameter(name).to_vector<double>(); };
  std::vector<double> a = linear_ref(x.to_vector<double>(), p("w1.weight"), {}, d, ff);
  std::vector<double> b = linear_ref(x.to_vector<double>(), p("w3.weight"), {}, d, ff);
  for (size_t i = 0; i < a.size(); ++i) a[i] = a[i] * sigmoid_ref(a[i]) * b[i];
  expect_close(y, linear_ref(a, p("w2.weight"), {}, ff, d), 1e-12);
}

TEST(SwiGLU, Gradcheck) {
  Rng rng(15);
  nn::SwiGLU ffn(3, 5, rng, DType::f64);
  expect_module_gradcheck(ffn, {rand64({4, 3}, 16)}, [&](const auto& in) { return ffn(in[0]); });
  expect_module_gradcheck(ffn, {rand64({3, 2, 2}, 17)}, [&](const auto& in) { return ffn(in[0].permute({2, 1, 0})); });
}

TEST(LSTMCell, NamesAndPlainLoopReference) {
  Rng rng(18);
  const int64_t B = 3, I = 4, H = 5;
  nn::LSTMCell cell(I, H, rng, true, DType::f64);
  EXPECT_EQ(names_of(cell.named_parameters()),
            (std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}));
  EXPECT_EQ(shapes_of(cell.named_parameters()), (std::vector<Shape>{{4 * H, I}, {4 * H, H}, {4 * H}, {4 * H}}));
  EXPECT_EQ(cell.num_parameters(), 4 * H * (I + H + 2));
  for (const auto& [name, p] : cell.named_parameters())
    for (double v : p.to_vector<double>()) EXPECT_LE(std::abs(v), 1.0 / std::sqrt(double(H))) << name;

  Tensor x = rand64({B, I}, 19), h0 = rand64({B, H}, 20), c0 = rand64({B, H}, 21);
  nn::LstmState next = cell(x, {h0, c0});
  ASSERT_EQ(next.h.shape(), (Shape{B, H}));
  ASSERT_EQ(next.c.shape(), (Shape{B, H}));
  auto p = [&](const char* name) { return cell.parameter(name).to_vector<double>(); };
  std::vector<double> wih = p("weight_ih"), whh = p("weight_hh"), bih = p("bias_ih"), bhh = p("bias_hh");
  std::vector<double> xv = x.to_vector<double>(), hv = h0.to_vector<double>(), cv = c0.to_vector<double>();
  std::vector<double> want_h(B * H), want_c(B * H);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> gates(4 * H);
    for (int64_t j = 0; j < 4 * H; ++j) {
      double acc = bih[j] + bhh[j];
      for (int64_t k = 0; k < I; ++k) acc += wih[j * I + k] * xv[b * I + k];
      for (int64_t k = 0; k < H; ++k) acc += whh[j * H + k] * hv[b * H + k];
      gates[j] = acc;
    }
    for (int64_t j = 0; j < H; ++j) {
      const double i = sigmoid_ref(gates[j]), f = sigmoid_ref(gates[H + j]), g = std::tanh(gates[2 * H + j]),
                   o = sigmoid_ref(gates[3 * H + j]);
      want_c[b * H + j] = f * cv[b * H + j] + i * g;
      want_h[b * H + j] = o * std::tanh(want_c[b * H + j]);
    }
  }
  expect_close(next.h, want_h, 1e-12);
  expect_close(next.c, want_c, 1e-12);

  // The zero-state overload equals an explicit zero state.
  Tensor zeros = Tensor::zeros({B, H}, DType::f64);
  expect_tensors_close(cell(x, {zeros, zeros}).h, cell.forward(x).h, 0);
  EXPECT_THROW(cell(x, {rand64({B, H + 1}, 1), c0}), Error);
  EXPECT_THROW(cell(x, {h0, Tensor()}), Error);
  EXPECT_THROW(cell.forward(rand64({B, I + 1}, 1)), Error);
}

TEST(LSTMCell, Gradcheck) {
  Rng rng(22);
  for (bool bias : {true, false}) {
    nn::LSTMCell cell(3, 4, rng, bias, DType::f64);
    std::vector<Tensor> inputs{rand64({2, 3}, 23), rand64({2, 4}, 24), rand64({2, 4}, 25)};
    expect_module_gradcheck(cell, inputs, [&](const auto& in) { return cell(in[0], {in[1], in[2]}).h; });
    expect_module_gradcheck(cell, inputs, [&](const auto& in) { return cell(in[0], {in[1], in[2]}).c; });
    // Two steps through time, the input transposed.
    expect_module_gradcheck(cell, {rand64({3, 2}, 26), inputs[1], inputs[2]}, [&](const auto& in) {
      nn::LstmState s = cell(in[0].t(), {in[1], in[2]});
      return cell(mul(in[0].t(), 0.5), s).h;
    });
  }
}
