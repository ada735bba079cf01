// Few-shot meta-training: the nearest-class-mean baseline on a hand case, a short
// meta-training run on the synthetic task that beats chance, the checkpoint round trip
// through train_fewshot / load_fewshot, and config errors.
#include <filesystem>
#include <fstream>

#include "moe/train/fewshot_trainer.h"
#include "moe/train/metrics_log.h"
#include "test_util.h"

using namespace moe;
using namespace moe::train;
using namespace moe::test;

namespace {

const char* kSynthetic = R"({
  "model": {"encoder": "mlp", "input_dim": 8, "d_model": 32, "ff_hidden": 32, "key_dim": 16, "value_dim": 16,
            "slots": 8, "max_ways": 3},
  "data": {"dataset": "synthetic", "synthetic": {"noise": 0.5}},
  "train": {"steps": 300, "lr": 0.003, "min_lr": 0.0003, "warmup": 20, "ways": [3], "shots": [2], "queries": 4,
            "seed": 2, "log_every": 50, "eval_every": 0, "eval_episodes": 10},
  "out": "unused"
})";

}  // namespace

TEST(FewShotTrain, NearestClassMeanHandCase) {
  // Class 0 around (0, 0), class 1 around (4, 0); query (1.5, 0) is nearer class 0's mean
  // (0.5, 0) than class 1's (4, 0); query (3, 3) nearer class 1's.
  const Tensor support = Tensor::from_list({0, 0, 1, 0, 4, 0}, {3, 2});
  const Tensor sl = Tensor::from_vector(std::vector<int64_t>{0, 0, 1}, {3});
  const Tensor query = Tensor::from_list({1.5, 0, 3, 3}, {2, 2});
  EXPECT_DOUBLE_EQ(ncm_accuracy(support, sl, query, Tensor::from_vector(std::vector<int64_t>{0, 1}, {2}), 2), 1.0);
  EXPECT_DOUBLE_EQ(ncm_accuracy(support, sl, query, Tensor::from_vector(std::vector<int64_t>{1, 1}, {2}), 2), 0.5);
  expect_error([&] { ncm_accuracy(support, sl, query, sl, 2); }, {"ncm_accuracy"});
  expect_error([&] { ncm_accuracy(support, sl, query, sl.slice(0, 0, 2), 3); }, {"class 2 has no support"});
}

TEST(FewShotTrain, SyntheticMetaTrainingBeatsChance) {
  const FewShotRunConfig config = FewShotRunConfig::from_string(kSynthetic, "synthetic.json");
  const FewShotSamplers s = make_samplers(config.data, config.model.features());
  Rng init(config.train.seed);
  models::MemoryFewShot model(config.model, init);
  const double before = evaluate_fewshot(model, *s.test, {3}, {2}, 40, 4, 99)[0].model.mean;
  const FewShotFitLog fit = fit_fewshot(model, *s.train, config);
  EXPECT_TRUE(std::isfinite(fit.final_loss));
  const SettingResult r = evaluate_fewshot(model, *s.test, {3}, {2}, 40, 4, 99)[0];
  EXPECT_DOUBLE_EQ(r.chance, 1.0 / 3.0);
  EXPECT_GT(r.model.mean, 0.6) << "before training " << before;
  EXPECT_GT(r.model.mean, before + 0.1);
  EXPECT_GT(r.ncm_pixels.mean, 0.6);  // the task is learnable: NCM on the raw features
  EXPECT_GT(r.model.ci95, 0.0);
}

TEST(FewShotTrain, TrainWritesCheckpointThatEvaluates) {
  const std::string dir = test_tmp_dir();
  const std::string cfg = dir + "/cfg.json";
  std::ofstream(cfg) << kSynthetic;
  FewShotTrainOptions o;
  o.config_path = cfg;
  o.out_dir = dir + "/run";
  o.steps = 20;
  train_fewshot(o);
  const std::vector<nlohmann::json> records = read_metrics(dir + "/run/metrics.jsonl");
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["step"], 20);
  const LoadedFewShot loaded = load_fewshot(dir + "/run");
  EXPECT_EQ(loaded.config.train.steps, 300);  // the file's value; --steps only ran this job
  const FewShotSamplers s = make_samplers(loaded.config.data, loaded.config.model.features());
  const std::vector<SettingResult> r = evaluate_fewshot(*loaded.model, *s.test, {2, 3}, {1}, 3, 2, 1);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].ways, 3);
  expect_error([&] { evaluate_fewshot(*loaded.model, *s.test, {4}, {1}, 3, 2, 1); }, {"4-way", "max_ways = 3"});
  expect_error([&] { load_fewshot(dir + "/nothing"); }, {"nothing"});
}

TEST(FewShotTrain, ConfigErrorsNameTheKey) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string text = kSynthetic;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  expect_error([&] { FewShotRunConfig::from_string(with("\"queries\"", "\"querys\""), "c.json"); }, {"c.json", "querys"});
  expect_error([&] { FewShotRunConfig::from_string(with("\"ways\": [3]", "\"ways\": [4]"), "c.json"); },
               {"c.json", "max_ways"});
  expect_error([&] { FewShotRunConfig::from_string(with("\"ways\": [3]", "\"ways\": []"), "c.json"); },
               {"c.json", "train.ways"});
  expect_error([&] { FewShotRunConfig::from_string(with("\"synthetic\", \"synthetic\"", "\"omniglot\", \"synthetic\""), "c.json"); },
               {"c.json", "data.dataset", "omniglot"});
  expect_error([&] { FewShotRunConfig::from_string(with("\"noise\": 0.5", "\"noise\": -1"), "c.json"); },
               {"c.json", "data.synthetic.noise"});
  expect_error([&] { FewShotRunConfig::from_string(with("\"input_dim\": 8", "\"input_dim\": 0"), "c.json"); },
               {"c.json", "input_dim"});
  expect_error([&] { FewShotRunConfig::from_string("{\"data\": {}}", "c.json"); }, {"c.json", "model"});
  expect_error([&] { FewShotRunConfig::from_string("{", "c.json"); }, {"c.json", "JSON"});
  // Hershey data: a missing directory, and images that do not fit the model.
  FewShotDataConfig d;
  d.dir = "/nonexistent/hershey";
  expect_error([&] { make_samplers(d, 28 * 28); }, {"/nonexistent/hershey"});
  expect_error([&] { make_samplers(FewShotDataConfig{}, 100); }, {"28x28", "100 features"});
}
