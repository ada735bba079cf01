// test_train_lottery.cpp: the lottery-ticket experiment end to end on tiny synthetic
// images (two rounds: sparsities, records, plot), the shipped configs parse, and config
// errors name the file and key.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "moe/io/atomic_file.h"
#include "moe/train/lottery_trainer.h"
#include "moe/train/metrics_log.h"
#include "test_util.h"

namespace moe::test {
namespace {

const char* kTinyConfig = R"({
  "model": {"kind": "vit", "image_size": 8, "patch_size": 4, "d_model": 8, "heads": 2, "layers": 1, "d_ff": 12,
            "classes": 3},
  "data": {"kind": "synthetic", "train": 48, "test": 24, "noise": 0.3, "seed": 5},
  "train": {"epochs": 1, "batch_size": 12, "lr": 0.01, "min_lr": 0.001, "warmup_steps": 1, "seed": 2,
            "eval_batch": 10},
  "lottery": {"rounds": 2, "prune_fraction": 0.2, "rewind_step": 1}
})";

std::string error_of(const std::string& text) {
  try {
    train::LotteryRunConfig::parse_text(text, "lottery.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string error_of_load(const nlohmann::json& config) {
  try {
    train::load_lottery_data(train::LotteryRunConfig::parse_text(config.dump(), "lottery.json"));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Lottery, TwoRoundsOnSyntheticImages) {
  const std::string dir = ::testing::TempDir() + "lottery_test_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  io::write_file_atomic(dir + "/config.in.json", kTinyConfig);
  train::LotteryOptions o;
  o.config_path = dir + "/config.in.json";
  o.out_dir = dir + "/out";
  o.quiet = true;
  std::vector<train::LotteryRound> rounds = train::run_lottery(o);
  ASSERT_EQ(rounds.size(), 3u);
  for (size_t r = 0; r < rounds.size(); ++r) {
    EXPECT_EQ(rounds[r].round, static_cast<int64_t>(r));
    EXPECT_NEAR(rounds[r].sparsity, 1.0 - std::pow(0.8, r), 2e-3);
    EXPECT_GE(rounds[r].ticket_accuracy, 0.0);
    EXPECT_LE(rounds[r].ticket_accuracy, 1.0);
    EXPECT_EQ(rounds[r].reinit_accuracy >= 0, r > 0);
    EXPECT_EQ(rounds[r].oneshot_global_accuracy >= 0, r > 0);
  }
  const auto records = train::read_metrics(o.out_dir + "/metrics.jsonl");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_TRUE(records[2].contains("reinit_accuracy"));
  EXPECT_TRUE(records[2].contains("oneshot_attention_only_accuracy"));
  EXPECT_NEAR(records[2]["sparsity"].get<double>(), 0.36, 2e-3);
  for (const char* c : {"attention", "mlp"}) {
    const double s = records[2]["component_sparsity"][c].get<double>();
    EXPECT_TRUE(s > 0 && s < 1) << c << " " << s;
  }
  const std::string svg = io::read_file(o.out_dir + "/accuracy_vs_sparsity.svg");
  EXPECT_NE(svg.find("data-name=\"ticket (rewound)\""), std::string::npos);
  EXPECT_NE(svg.find("data-name=\"random re-init, same mask\""), std::string::npos);
  EXPECT_NE(io::read_file(o.out_dir + "/oneshot_sensitivity.svg").find("data-name=\"attention only\""),
            std::string::npos);

  // The logged rounds read back as they were run, and redraw the same plots.
  const std::vector<train::LotteryRound> back = train::read_lottery_rounds(o.out_dir + "/metrics.jsonl");
  ASSERT_EQ(back.size(), rounds.size());
  for (size_t r = 0; r < back.size(); ++r) {
    EXPECT_EQ(back[r].to_json(), rounds[r].to_json());
  }
  std::filesystem::remove(o.out_dir + "/accuracy_vs_sparsity.svg");
  train::write_lottery_plots(o.out_dir, back);
  EXPECT_EQ(io::read_file(o.out_dir + "/accuracy_vs_sparsity.svg"), svg);
  io::write_file_atomic(dir + "/bad.jsonl", "{\"round\": 0}\n");
  EXPECT_THROW(train::read_lottery_rounds(dir + "/bad.jsonl"), Error);

  // --rounds overrides the config; the same seed gives the same numbers.
  o.rounds = 1;
  o.out_dir = dir + "/out1";
  std::vector<train::LotteryRound> again = train::run_lottery(o);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[1].ticket_accuracy, rounds[1].ticket_accuracy);
  std::filesystem::remove_all(dir);
}

TEST(Lottery, ShippedConfigsParse) {
  for (const char* name : {"lottery_vit_fashion_mnist.json", "lottery_vit_seed.json"}) {
    const std::string path = std::string(MOE_SOURCE_DIR) + "/configs/" + name;
    train::LotteryRunConfig c = train::LotteryRunConfig::parse_text(io::read_file(path), path);
    EXPECT_EQ(c.data.kind, "fashion-mnist") << name;
    EXPECT_EQ(c.lottery.prune_fraction, 0.2) << name;
    EXPECT_EQ(train::LotteryRunConfig::parse_text(c.to_json().dump(), name).to_json(), c.to_json());
  }
}

TEST(Lottery, ConfigErrorsNameTheKey) {
  nlohmann::json good = nlohmann::json::parse(kTinyConfig);
  auto with = [&](const std::string& path, const nlohmann::json& v) {
    nlohmann::json j = good;
    j[nlohmann::json::json_pointer(path)] = v;
    return error_of(j.dump());
  };
  EXPECT_EQ(error_of(good.dump()), "");
  EXPECT_NE(with("/lottery/prune_fraction", 1.0).find("lottery.json: lottery.prune_fraction"), std::string::npos);
  EXPECT_NE(with("/lottery/round", 3).find("lottery.json: unknown key lottery.round"), std::string::npos);
  EXPECT_NE(with("/lottery/rewind_step", -1).find("lottery.rewind_step"), std::string::npos);
  EXPECT_NE(with("/data/kind", "cifar").find("lottery.json: data.kind"), std::string::npos);
  EXPECT_NE(with("/train/batch_size", 0).find("train.batch_size"), std::string::npos);
  EXPECT_NE(with("/train/lr", "fast").find("train.lr"), std::string::npos);
  EXPECT_NE(with("/model/heads", 3).find("model.heads"), std::string::npos);
  // Fashion-MNIST needs the 28 x 28, 10-class model, and its files where data.dir says.
  nlohmann::json fm = good;
  fm["data"] = {{"kind", "fashion-mnist"}, {"dir", "/nonexistent/fashion"}, {"train", 10}, {"test", 10}};
  EXPECT_NE(error_of_load(fm).find("Fashion-MNIST is 1 x 28 x 28"), std::string::npos);
  fm["model"]["image_size"] = 28, fm["model"]["classes"] = 10;
  EXPECT_NE(error_of_load(fm).find("/nonexistent/fashion"), std::string::npos);
  nlohmann::json no_lottery = good;
  no_lottery.erase("lottery");
  EXPECT_NE(error_of(no_lottery.dump()).find("lottery"), std::string::npos);
}

}  // namespace
}  // namespace moe::test
