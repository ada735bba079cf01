// test_train_set.cpp: the SET model (SetMLP), its strict config, and the training loop
// end to end on a tiny synthetic image set (no downloaded data).
#include <fstream>

#include "moe/models/set_mlp.h"
#include "moe/optim/sgd.h"
#include "moe/train/metrics_log.h"
#include "moe/train/set_trainer.h"
#include "test_util.h"

namespace moe {
namespace {

using test::expect_error;

models::SetConfig config_from(const std::string& text) {
  io::ConfigReader root = io::ConfigReader::from_string(text, "set.json");
  return models::parse_set_config(root);
}

TEST(SetConfig, DefaultsAndOverrides) {
  const models::SetConfig c = config_from(
      R"({"model": {"layers": [16, 8, 3], "density_epsilon": 2, "activation": "tanh"},
          "train": {"dataset": "fashion-mnist", "epochs": 3, "zeta": 0.2}})");
  EXPECT_EQ(c.model.layers, (std::vector<int64_t>{16, 8, 3}));
  EXPECT_EQ(c.model.activation, "tanh");
  EXPECT_EQ(c.train.dataset, "fashion-mnist");
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_DOUBLE_EQ(c.train.zeta, 0.2);
  EXPECT_DOUBLE_EQ(c.train.momentum, 0.9);  // default
  for (const char* file : {"configs/set_mnist.json", "configs/set_fashion_mnist.json"})
    EXPECT_NO_THROW(models::load_set_config(std::string(MOE_SOURCE_DIR) + "/" + file)) << file;
}

TEST(SetConfig, BadConfigsNameTheKey) {
  expect_error([] { config_from(R"({"model": {"layer": [4, 2]}})"); }, {"set.json", "layer"});
  expect_error([] { config_from(R"({"trian": {}})"); }, {"set.json", "trian"});
  expect_error([] { config_from(R"({"model": {"layers": [4]}})"); }, {"model.layers", "at least 2"});
  expect_error([] { config_from(R"({"model": {"layers": [4, 0]}})"); }, {"model.layers", "positive"});
  expect_error([] { config_from(R"({"model": {"density_epsilon": -1}})"); }, {"model.density_epsilon", "> 0"});
  expect_error([] { config_from(R"({"train": {"zeta": 1.0}})"); }, {"train.zeta", "[0, 1)"});
  expect_error([] { config_from(R"({"train": {"epochs": "ten"}})"); }, {"train.epochs", "integer"});
  expect_error([] { config_from(R"({"train": {"momentum": 1}})"); }, {"train.momentum"});
  Rng rng(0);
  models::SetMlpConfig m;
  m.layers = {4, 2};
  m.activation = "srelu";
  expect_error([&] { models::SetMLP(m, rng); }, {"srelu"});
}

TEST(SetMLP, SparseAndDenseShapes) {
  Rng rng(1);
  models::SetMlpConfig m;
  m.layers = {20, 30, 5};
  m.density_epsilon = 3;
  models::SetMLP sparse_model(m, rng);
  const std::vector<int64_t> conns = sparse_model.connections_per_layer();
  EXPECT_EQ(conns, (std::vector<int64_t>{std::llround(3.0 * 50), std::llround(3.0 * 35)}));
  EXPECT_EQ(sparse_model.dense_connections(), 20 * 30 + 30 * 5);
  EXPECT_EQ(test::names_of(sparse_model.named_parameters()),
            (std::vector<std::string>{"layers.0.values", "layers.0.bias", "layers.1.values", "layers.1.bias"}));
  EXPECT_EQ(sparse_model.forward(test::rand32({7, 20}, 2)).shape(), (Shape{7, 5}));
  // evolve() finds each layer's momentum buffer by its dotted name: regrown entries get 0.
  optim::SGD sgd(sparse_model.named_parameters(), {0.1, 0.9, 0.0, false});
  cross_entropy(sparse_model.forward(test::rand32({7, 20}, 3)), Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 3, 4, 0, 1}, {7}))
      .backward();
  sgd.step();
  const std::vector<sparse::EvolutionStats> stats = sparse_model.evolve(0.3, 0.0, rng, &sgd);
  ASSERT_EQ(stats.size(), 2u);
  for (size_t i = 0; i < stats.size(); ++i) {
    int64_t zeros = 0;
    for (const auto& [name, t] : sgd.state_dict())
      if (name == "sgd.momentum_buffer.layers." + std::to_string(i) + ".values")
        for (double v : t.to_vector<double>()) zeros += v == 0.0;
    EXPECT_GE(zeros, stats[i].regrown) << "layer " << i;
  }
  m.dense = true;
  models::SetMLP dense_model(m, rng);
  EXPECT_EQ(dense_model.connections_per_layer(), (std::vector<int64_t>{600, 150}));
  EXPECT_EQ(dense_model.forward(test::rand32({7, 20}, 2)).shape(), (Shape{7, 5}));
  EXPECT_TRUE(dense_model.evolve(0.3, 0.0, rng, nullptr).empty());
}

// Two classes of 4x4 images: bright top half or bright bottom half, plus noise.
data::ImageDataset halves(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> px(static_cast<size_t>(n * 16));
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = i % 2;
    for (int64_t p = 0; p < 16; ++p)
      px[i * 16 + p] = static_cast<float>(0.3 * rng.uniform() + ((p < 8) == (labels[i] == 0) ? 0.7 : 0.0));
  }
  return {Tensor::from_vector(px, {n, 4, 4}), Tensor::from_vector(labels, {n})};
}

TEST(SetTraining, EndToEndOnTinyImages) {
  models::SetConfig c = config_from(
      R"({"model": {"layers": [16, 24, 2], "density_epsilon": 4},
          "train": {"epochs": 3, "batch_size": 8, "lr": 0.05, "zeta": 0.3}})");
  const std::string dir = test::test_tmp_dir();
  const nlohmann::json s = train::run_set_training(c, halves(64, 1), halves(32, 2), {dir, false});
  const std::vector<nlohmann::json> rows = train::read_metrics(dir + "/metrics.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  const int64_t live = rows[0]["connections_total"].get<int64_t>();
  for (size_t e = 0; e < rows.size(); ++e) {
    EXPECT_EQ(rows[e]["epoch"].get<int64_t>(), static_cast<int64_t>(e + 1));
    EXPECT_EQ(rows[e]["connections_total"].get<int64_t>(), live) << "SET keeps the connection count";
    EXPECT_TRUE(rows[e].contains("train_loss") && rows[e].contains("test_accuracy") && rows[e].contains("step_ms"));
  }
  // Evolution after every epoch but the last; overlap with the start only shrinks or holds.
  EXPECT_TRUE(rows[0].contains("removed") && rows[1].contains("changed") && !rows[2].contains("removed"));
  EXPECT_EQ(rows[0]["removed"][0].get<int64_t>(), static_cast<int64_t>(0.3 * rows[0]["connections"][0].get<int64_t>()));
  EXPECT_LT(rows[1]["initial_overlap"][0].get<double>(), 1.0);
  EXPECT_GE(s["final_test_accuracy"].get<double>(), 0.9);
  EXPECT_TRUE(std::ifstream(dir + "/summary.json").good());
  EXPECT_EQ(s["connections_total"].get<int64_t>(), live);
}

TEST(SetTraining, RejectsMismatchedImagesAndLabels) {
  models::SetConfig c = config_from(R"({"model": {"layers": [9, 4, 2]}, "train": {"epochs": 1}})");
  expect_error([&] { train::run_set_training(c, halves(8, 1), halves(8, 2), {test::test_tmp_dir(), false}); },
               {"input width is 9"});
  c.model.layers = {16, 4, 1};
  expect_error([&] { train::run_set_training(c, halves(8, 1), halves(8, 2), {test::test_tmp_dir(), false}); },
               {"label 1 outside the model's 1 classes"});
}

}  // namespace
}  // namespace moe
