// test_models_neuroshard.cpp: the NeuroShard layer (against an explicit W_eff, float64
// gradient checks), the keyword router's table, the learned router on a tiny separable
// set, and routes surviving a checkpoint save and reload exactly.
#include <gtest/gtest.h>

#include <filesystem>

#include "moe/io/checkpoint.h"
#include "moe/models/neuroshard.h"
#include "moe/train/neuroshard_trainer.h"
#include "test_util.h"

namespace moe {
namespace {

using models::NeuroShard;
using models::NeuroShardConfig;
using models::NeuroShardLayer;

NeuroShardConfig small_config(const std::string& embedding, int64_t dim = 8, int64_t rows = 32) {
  NeuroShardConfig c;
  c.dim = dim;
  c.rank = 2;
  c.embedding.kind = embedding;
  c.embedding.rows = rows;
  return c;
}

TEST(NeuroShard, LayerMatchesExplicitEffectiveWeight) {
  Rng rng(3);
  NeuroShardLayer layer(5, 3, 2, rng, DType::f64);
  const Tensor w = test::rand64({5, 5}, 1), u = test::rand64({3, 5, 2}, 2), v = test::rand64({3, 2, 5}, 4);
  layer.set_parameter("w_base", w);
  layer.set_parameter("u", u);
  layer.set_parameter("v", v);
  const Tensor x = test::rand64({2, 5}, 5), alpha = test::rand64({2, 3}, 6, 0, 1);
  const Tensor y = layer.forward(x, alpha);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t o = 0; o < 5; ++o) {
      double want = 0;
      for (int64_t i = 0; i < 5; ++i) {
        double weff = w.at({o, i});  // W_eff = W_base + sum_s alpha_s U_s V_s
        for (int64_t s = 0; s < 3; ++s)
          for (int64_t r = 0; r < 2; ++r) weff += alpha.at({b, s}) * u.at({s, o, r}) * v.at({s, r, i});
        want += weff * x.at({b, i});
      }
      EXPECT_NEAR(y.at({b, o}), want, 1e-12);
    }
}

TEST(NeuroShard, LayerInitialisation) {
  Rng rng(0);
  NeuroShardLayer layer(64, 4, 4, rng);
  const std::vector<double> w = layer.parameter("w_base").to_vector<double>();
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t j = 0; j < 64; ++j) ASSERT_EQ(w[static_cast<size_t>(i * 64 + j)], i == j ? 1.0 : 0.0);
  EXPECT_EQ(layer.parameter("u").shape(), (Shape{4, 64, 4}));
  EXPECT_EQ(layer.parameter("v").shape(), (Shape{4, 4, 64}));
  double sq = 0;
  for (double x : layer.parameter("u").to_vector<double>()) sq += x * x;
  EXPECT_NEAR(std::sqrt(sq / 1024), 0.01, 0.002);  // N(0, 0.01^2)
  EXPECT_THROW(layer.forward(Tensor::zeros({2, 64}), Tensor::zeros({2, 3})), Error);
}

TEST(NeuroShard, LayerGradcheck) {
  Rng rng(7);
  NeuroShardLayer layer(4, 3, 2, rng, DType::f64);
  layer.set_parameter("w_base", test::rand64({4, 4}, 8));
  layer.set_parameter("u", test::rand64({3, 4, 2}, 9));
  layer.set_parameter("v", test::rand64({3, 2, 4}, 10));
  test::expect_module_gradcheck(layer, {test::rand64({3, 4}, 11), test::rand64({3, 3}, 12, 0, 1)},
                                [&](const std::vector<Tensor>& in) { return layer.forward(in[0], in[1]); });
  // alpha as a non-contiguous view
  const Tensor alpha_t = test::rand64({3, 2}, 13, 0, 1);
  test::expect_module_gradcheck(layer, {test::rand64({2, 4}, 14), alpha_t},
                                [&](const std::vector<Tensor>& in) { return layer.forward(in[0], in[1].t()); });
}

TEST(NeuroShard, ModelGradcheckThroughTableRouterAndBothLayers) {
  Rng rng(1);
  NeuroShard model(small_config("word", 6, 8), rng, DType::f64);
  const std::vector<std::string> texts = {"hund katze", "theorem proof proof"};
  test::expect_module_gradcheck(model, {}, [&](const std::vector<Tensor>&) {
    models::NeuroShardOutput o = model.forward(texts);
    return add(o.out, mul(sum(o.logits), 0.5));
  });
}

TEST(NeuroShard, KeywordTable) {
  const auto& table = models::keyword_table();
  ASSERT_EQ(table.size(), 4u);
  auto has = [&](const std::string& topic, const std::string& w) {
    const auto& ws = table.at(topic);
    return std::find(ws.begin(), ws.end(), w) != ws.end();
  };
  EXPECT_TRUE(has("rap", "punchline"));
  EXPECT_TRUE(has("love", "peace"));
  EXPECT_TRUE(has("math", "integral"));
  EXPECT_TRUE(has("animals", "hund"));
  EXPECT_TRUE(has("animals", "b\xC3\xA4r"));
  const std::vector<std::string> topics = {"rap", "love", "math", "animals"};
  EXPECT_EQ(models::keyword_alpha(topics, "street gang punchline rap"), (std::vector<double>{1, 0, 0, 0}));
  EXPECT_EQ(models::keyword_alpha(topics, "Vogel HUND b\xC3\x84r"), (std::vector<double>{0, 0, 0, 1}));
  EXPECT_EQ(models::keyword_alpha(topics, "love the proof"), (std::vector<double>{0, 0.5, 0.5, 0}));  // a tie
  EXPECT_EQ(models::keyword_alpha(topics, "love love proof"), (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(models::keyword_alpha(topics, "nothing to see"), (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
  // the keyword model uses the table and has no router parameters
  NeuroShardConfig c = small_config("letters", 32);
  c.router = "keyword";
  Rng rng(0);
  NeuroShard model(c, rng);
  EXPECT_EQ(model.route("integral theorem"), (std::vector<double>{0, 0, 1, 0}));
  for (auto& [name, t] : model.named_parameters()) EXPECT_EQ(name.rfind("router", 0), std::string::npos) << name;
}

std::vector<train::LabelledText> separable_set() {
  return {{0, "rap beat mic"}, {1, "love heart kiss"}, {2, "integral theorem proof"}, {3, "hund katze vogel"},
          {0, "street flow"},  {1, "sweet hug"},       {2, "matrix algebra"},         {3, "pferd maus"}};
}

TEST(NeuroShard, LearnedRouterSeparatesATinySet) {
  Rng rng(1);
  NeuroShard model(small_config("word", 16, 64), rng);
  train::NeuroShardFit fit;
  fit.epochs = 120;
  fit.log_every = 0;
  const auto data = separable_set();
  const double loss = train::fit_neuroshard(model, data, fit);
  EXPECT_LT(loss, 0.05);
  for (const auto& ex : data) {
    const std::vector<double> a = model.route(ex.text);
    EXPECT_GT(a[static_cast<size_t>(ex.topic)], 0.99) << ex.text;
  }
  EXPECT_EQ(train::evaluate_neuroshard(model, data).accuracy, 1.0);
}

TEST(NeuroShard, RouteIdenticalAfterSaveAndReload) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("moe_test_neuroshard_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  for (const std::string emb : {"word", "ngram", "letters"}) {
    Rng rng(2);
    NeuroShardConfig c = small_config(emb, 32, 64);
    NeuroShard model(c, rng);
    train::NeuroShardFit fit;
    fit.epochs = 3;
    fit.log_every = 0;
    train::fit_neuroshard(model, separable_set(), fit);
    io::CheckpointData d;
    d.config_json = nlohmann::json{{"model", c.to_json()}}.dump();
    d.tokenizer_json = c.embedding.to_json().dump();
    const std::string ckpt = (dir / emb).string();
    io::save_checkpoint(ckpt, d, model.named_parameters());
    std::unique_ptr<NeuroShard> loaded = models::load_neuroshard(ckpt);
    // texts in a different order of first use than in training, and an unseen word
    for (const std::string text : {"vogel hund katze b\xC3\xA4r", "proof theorem", "zebra", "kiss rap"}) {
      EXPECT_EQ(loaded->route(text), model.route(text)) << emb << ": " << text;
      EXPECT_EQ(models::route_text(*loaded, text).to_json(), models::route_text(model, text).to_json());
    }
  }
  fs::remove_all(dir);
}

TEST(NeuroShard, RouteFormatsAndConfigErrors) {
  models::Route r{{"rap", "love"}, {0.25, 0.75}};
  EXPECT_EQ(r.dominant(), "love");
  EXPECT_EQ(r.text_line(), "alpha  rap 0.2500  love 0.7500  -> love");
  EXPECT_EQ(r.to_json().dump(), R"({"alpha":{"love":0.75,"rap":0.25},"dominant":"love"})");
  EXPECT_EQ(models::config_model_kind(R"({"model": {"kind": "neuroshard"}})"), "neuroshard");
  EXPECT_EQ(models::config_model_kind(R"({"model": {"d_model": 8}})"), "transformer_lm");
  EXPECT_THROW(NeuroShardConfig::from_json({{"kind", "neuroshard"}, {"rnak", 4}}, "m"), Error);
  EXPECT_THROW(NeuroShardConfig::from_json({{"kind", "neuroshard"}, {"router", "random"}}, "m"), Error);
}

}  // namespace
}  // namespace moe
