// The MoE sentiment classifier: a tiny synthetic run learns (test accuracy well above
// chance and above the untrained model's), the balancing loss evens the load, the
// checkpoint reloads to the same metrics, and config errors name the key.
#include <fstream>
#include <sstream>

#include "moe/train/classifier_trainer.h"
#include "moe/train/metrics_log.h"
#include "test_util.h"

using namespace moe;

namespace {

std::string write_config(const std::string& dir, double switch_loss, const std::string& extra_model = "") {
  const std::string path = dir + "/config.json";
  std::ofstream(path) << R"({
    "model": {"kind": "moe_classifier", "features": 20, "classes": 3, )" << extra_model << R"(
      "moe": {"num_experts": 4,
              "router": {"kind": "topk", "top_k": 2, "topk_norm": "softmax_topk", "switch_loss": )"
                      << switch_loss << R"(},
              "expert": {"kind": "mlp", "hidden": [16, 8]}},
      "baseline_hidden": [24, 12]},
    "data": {"kind": "synthetic", "train": 600, "test": 400, "seed": 3},
    "train": {"steps": 150, "batch_size": 32, "lr": 0.01, "log_every": 50, "eval_every": 150, "seed": 2}
  })";
  return path;
}

}  // namespace

TEST(ClassifierTrainer, TinyRunLearnsAndReloads) {
  const std::string dir = moe::test::test_tmp_dir();
  train::TrainOptions o;
  o.config_path = write_config(dir, 0.0);
  o.out_dir = dir + "/run";
  o.quiet = true;
  ASSERT_TRUE(train::is_classifier_config(o.config_path));

  train::ClassifierRunConfig run = train::ClassifierRunConfig::parse_text(
      R"({"model": {"kind": "moe_classifier", "moe": {"num_experts": 4, "router": {"kind": "topk"},
          "expert": {"kind": "mlp", "hidden": [16, 8]}}}, "data": {"train": 600, "test": 400, "seed": 3}})", "t");
  train::ClassifierData data = train::load_classifier_data(run);
  Rng rng(2);
  models::MoEClassifier untrained(run.model, rng);
  const double before = train::evaluate_classifier(untrained, data.test).accuracy;

  train::ClassifierTrainResult r = train::train_classifier(o);
  EXPECT_GT(r.metrics.accuracy, 0.75);
  EXPECT_GT(r.metrics.accuracy, before + 0.2);
  EXPECT_GT(r.baseline_accuracy, 0.75);
  std::vector<nlohmann::json> log = train::read_metrics(o.out_dir + "/metrics.jsonl");
  ASSERT_EQ(log.size(), 4u);  // 3 train records, 1 test record
  EXPECT_EQ(log.back()["split"], "test");
  EXPECT_EQ(log.back()["utilization"].size(), 4u);
  EXPECT_TRUE(log.back().contains("specialization_index"));
  EXPECT_TRUE(log.back().contains("load_balance_variance"));

  train::LoadedClassifier l = train::load_classifier_checkpoint(r.checkpoint_dir);
  analysis::ClassifierMetrics again = train::evaluate_classifier(*l.moe, data.test);
  EXPECT_DOUBLE_EQ(again.accuracy, r.metrics.accuracy);
  EXPECT_EQ(again.counts, r.metrics.counts);
  EXPECT_DOUBLE_EQ(train::evaluate_dense(*l.baseline, data.test), r.baseline_accuracy);
}

TEST(ClassifierTrainer, BalancingLossLowersLoadVariance) {
  const std::string dir = moe::test::test_tmp_dir();
  train::TrainOptions o;
  o.out_dir = dir + "/run";
  o.quiet = true;
  o.config_path = write_config(dir, 0.0);
  const double off = train::train_classifier(o).metrics.load_balance_variance;
  o.config_path = write_config(dir, 1.0);
  o.out_dir = dir + "/run2";
  const double on = train::train_classifier(o).metrics.load_balance_variance;
  EXPECT_LT(on, off);
  EXPECT_LT(on, 0.01);
}

TEST(ClassifierTrainer, ConfigErrorsNameTheKey) {
  auto parse = [](const std::string& text) { return train::ClassifierRunConfig::parse_text(text, "cfg.json"); };
  const std::string moe = R"("moe": {"num_experts": 4, "router": {"kind": "topk"}, "expert": {"kind": "mlp", "hidden": [8]}})";
  moe::test::expect_error([&] { parse(R"({"model": {"kind": "moe_classifier", "clases": 3, )" + moe + "}}"); },
                          {"cfg.json", "clases"});
  moe::test::expect_error([&] { parse(R"({"model": {"kind": "moe_classifier", "classes": 2, )" + moe + "}}"); },
                          {"cfg.json", "classes"});
  moe::test::expect_error(
      [&] {
        parse(R"({"model": {"kind": "moe_classifier", "moe": {"num_experts": 4, "router": {"kind": "topk"},
              "expert": {"kind": "ffn", "d_ff": 8}}}})");
      },
      {"mlp"});
  moe::test::expect_error([&] { parse(R"({"model": {"kind": "moe_classifier", )" + moe + R"(}, "data": {"kind": "x"}})"); },
                          {"data.kind"});
}

TEST(ClassifierTrainer, ShippedConfigsParse) {
  for (const char* name : {"moe_sentiment_synthetic", "moe_sentiment_synthetic_balanced", "moe_sentiment_real",
                           "moe_sentiment_real_balanced", "moe_sentiment_real20", "moe_sentiment_real20_balanced"}) {
    SCOPED_TRACE(name);
    const std::string path = std::string(MOE_SOURCE_DIR) + "/configs/" + name + ".json";
    ASSERT_TRUE(train::is_classifier_config(path));
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    train::ClassifierRunConfig c = train::ClassifierRunConfig::parse_text(ss.str(), path);
    EXPECT_EQ(c.model.moe.num_experts, 4);
    EXPECT_EQ(c.model.moe.router.top_k, 2);
    EXPECT_EQ(c.model.moe.expert.hidden, (std::vector<int64_t>{64, 32}));
    // Round trip through the checkpoint's config.json.
    EXPECT_EQ(train::ClassifierRunConfig::parse_text(c.to_json().dump(), "rt").to_json(), c.to_json());
  }
  EXPECT_FALSE(train::is_classifier_config(std::string(MOE_SOURCE_DIR) + "/configs/noisy_topk_char_lm.json"));
}

// The documented "same active size": router 20 * 4 + 2 experts of 20 -> 64 -> 32 -> 3
// = 80 + 2 * 3,523 = 7,126 against the baseline 20 -> 100 -> 50 -> 3 = 7,303.
TEST(ClassifierTrainer, ActiveSizesOfTheSeedModelAndBaseline) {
  std::ifstream in(std::string(MOE_SOURCE_DIR) + "/configs/moe_sentiment_synthetic.json");
  std::stringstream ss;
  ss << in.rdbuf();
  train::ClassifierRunConfig c = train::ClassifierRunConfig::parse_text(ss.str(), "synthetic");
  Rng rng(0);
  models::MoEClassifier moe(c.model, rng);
  models::DenseClassifier dense(c.model, rng);
  EXPECT_EQ(moe.active_parameters(), 80 + 2 * (20 * 64 + 64 + 64 * 32 + 32 + 32 * 3 + 3));
  EXPECT_EQ(moe.active_parameters(), 7126);
  EXPECT_EQ(dense.active_parameters(), 7303);
  EXPECT_EQ(moe.forward(Tensor::zeros({5, 20})).shape(), (Shape{5, 3}));
}
