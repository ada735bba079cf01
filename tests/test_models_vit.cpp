// test_models_vit.cpp: the ViT: patchify against a hand loop, forward shapes, parameter
// names, non-causal attention (the class token sees every patch), a float64 directional
// gradient check of a tiny ViT, config errors.
#include <gtest/gtest.h>

#include "moe/models/vit.h"
#include "test_util.h"

namespace moe::test {
namespace {

using models::ViT;
using models::ViTConfig;

ViTConfig tiny_config(int64_t channels = 1) {
  ViTConfig c;
  c.image_size = 8, c.channels = channels, c.patch_size = 4, c.d_model = 8, c.heads = 2, c.layers = 2, c.d_ff = 12;
  c.classes = 3;
  return c;
}

ViTConfig parse(const std::string& text) {
  io::ConfigReader r = io::ConfigReader::from_string(text, "model.json");
  return ViTConfig::parse(r);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ViT, PatchifyMatchesHandLoop) {
  for (bool transposed : {false, true}) {
    const int64_t B = 2, ch = 3, H = 4, W = 6, p = 2;
    // A non-contiguous input: the transpose of a (B, ch, W, H) tensor.
    Tensor x = transposed ? rand64({B, ch, W, H}, 5).transpose(2, 3) : rand64({B, ch, H, W}, 5);
    Tensor got = models::patchify(x, p);
    ASSERT_EQ(got.shape(), (Shape{B, (H / p) * (W / p), ch * p * p}));
    std::vector<double> want;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < H / p; ++i)
        for (int64_t j = 0; j < W / p; ++j)
          for (int64_t c = 0; c < ch; ++c)
            for (int64_t u = 0; u < p; ++u)
              for (int64_t v = 0; v < p; ++v) want.push_back(x.at({b, c, i * p + u, j * p + v}));
    expect_close(got, want, 1e-15);
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return models::patchify(in[0], p); }, {x});
  }
  EXPECT_THROW(models::patchify(rand64({1, 1, 5, 4}, 1), 2), Error);
  EXPECT_THROW(models::patchify(rand64({1, 4, 4}, 1), 2), Error);
}

TEST(ViT, ForwardShapesAndNames) {
  Rng rng(1);
  ViT vit(tiny_config(), rng);
  EXPECT_EQ(vit.forward(rand32({5, 8, 8}, 2)).shape(), (Shape{5, 3}));
  EXPECT_EQ(vit.forward(rand32({5, 1, 8, 8}, 2)).shape(), (Shape{5, 3}));
  EXPECT_THROW(vit.forward(rand32({5, 8, 9}, 2)), Error);
  EXPECT_THROW(vit.forward(rand32({5, 2, 8, 8}, 2)), Error);
  Rng rng2(1);
  ViT rgb(tiny_config(2), rng2);
  EXPECT_EQ(rgb.forward(rand32({4, 2, 8, 8}, 2)).shape(), (Shape{4, 3}));
  EXPECT_THROW(rgb.forward(rand32({4, 8, 8}, 2)), Error);

  std::vector<std::string> names;
  for (const auto& [name, p] : vit.named_parameters()) names.push_back(name);
  ASSERT_EQ(names.size(), 4u + 2 * 12u + 4u);
  EXPECT_EQ(names[0], "cls_token");
  EXPECT_EQ(names[1], "pos_emb");
  EXPECT_EQ(names[2], "patch_embed.weight");
  EXPECT_EQ(names[4], "blocks.0.ln1.weight");
  EXPECT_EQ(names[6], "blocks.0.attn.qkv.weight");
  EXPECT_EQ(names[12], "blocks.0.mlp.fc1.weight");
  EXPECT_EQ(names.back(), "head.bias");
  EXPECT_EQ(vit.parameter("pos_emb").shape(), (Shape{1, 5, 8}));
  EXPECT_EQ(vit.parameter("cls_token").shape(), (Shape{1, 1, 8}));
  EXPECT_EQ(vit.parameter("patch_embed.weight").shape(), (Shape{8, 16}));
  EXPECT_EQ(vit.parameter("blocks.1.mlp.fc2.weight").shape(), (Shape{8, 12}));
}

TEST(ViT, ClassTokenAttendsToEveryPatch) {
  // Non-causal attention: the class token (position 0) must see the last patch. With a
  // causal mask the logits would not depend on the image at all.
  Rng rng(3);
  ViT vit(tiny_config(), rng, DType::f64);
  vit.eval();
  Tensor x = rand64({1, 8, 8}, 4);
  Tensor y = x.clone();
  y.slice(1, 4, 8).slice(2, 4, 8).fill_(0.0);  // the last patch only
  const std::vector<double> a = vit.forward(x).to_vector<double>(), b = vit.forward(y).to_vector<double>();
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff += std::abs(a[i] - b[i]);
  EXPECT_GT(diff, 1e-6);
}

TEST(ViT, DirectionalGradcheckFloat64) {
  Rng rng(5);
  ViT vit(tiny_config(2), rng, DType::f64);
  vit.eval();
  const nn::NamedTensors params = vit.named_parameters();
  std::vector<Tensor> inputs{rand64({2, 2, 8, 8}, 6)};
  for (const auto& [name, p] : params) inputs.push_back(p);
  auto f = [&](const std::vector<Tensor>& xs) {
    for (size_t i = 0; i < params.size(); ++i) vit.set_parameter(params[i].first, xs[1 + i]);
    return vit.forward(xs[0]);
  };
  for (uint64_t seed : {7u, 8u}) {
    GradcheckResult r = directional_gradcheck(f, inputs, 1e-6, 1e-6, seed);
    EXPECT_TRUE(r.ok) << r.detail;
  }
  for (const auto& [name, p] : params) vit.set_parameter(name, p);
}

TEST(ViT, ConfigParsesAndErrorsNameTheKey) {
  ViTConfig c = parse(R"({"kind": "vit", "patch_size": 7, "d_model": 192, "heads": 6, "layers": 6, "d_ff": 768})");
  EXPECT_EQ(c.num_patches(), 16);
  EXPECT_EQ(c.patch_dim(), 49);
  EXPECT_EQ(parse(c.to_json().dump()).to_json(), c.to_json());
  const std::string base = R"("kind": "vit", "patch_size": 7, "d_model": 8, "heads": 2, "layers": 1, "d_ff": 4)";
  EXPECT_NE(error_of([&] { parse("{" + base + R"(, "dim": 3})"); }).find("unknown key dim"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(R"({"kind": "vit", "patch_size": 5, "d_model": 8, "heads": 2, "layers": 1,
                                   "d_ff": 4})"); }).find("model.json: patch_size"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(R"({"kind": "vit", "patch_size": 7, "d_model": 8, "heads": 3, "layers": 1,
                                   "d_ff": 4})"); }).find("model.json: heads"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(R"({"kind": "vt", "patch_size": 7, "d_model": 8, "heads": 2, "layers": 1,
                                   "d_ff": 4})"); }).find("model.json: kind"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(R"({"kind": "vit", "d_model": 8, "heads": 2, "layers": 1, "d_ff": 4})"); })
                .find("model.json: patch_size"), std::string::npos);
  EXPECT_NE(error_of([&] { parse("{" + base + R"(, "classes": 1})"); }).find("model.json: classes"),
            std::string::npos);
}

}  // namespace
}  // namespace moe::test
