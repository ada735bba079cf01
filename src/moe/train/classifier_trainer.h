// train/classifier_trainer.h: training, evaluation and checkpoints of the MoE sentiment
// classifier (models/moe_classifier.h) beside its dense baseline.
//
// Config file: {"model": {"kind": "moe_classifier", ...} (ClassifierConfig),
//   "data": {"kind": "synthetic", "train": 4000, "test": 2000, "signal": 1, "noise": 1,
//            "seed": 7}  or  {"kind": "sentiment_fixtures", "dir": "data/sentiment"},
//   "train": {"steps", "batch_size", "lr", "weight_decay", "log_every", "eval_every",
//             "seed", "baseline"}}
// Both models see the same minibatches (uniform draws with replacement from the
// generator seeded by train.seed, after both models' initialisation); AdamW for each.
// The MoE loss is the cross-entropy plus the router's aux loss (its coefficients in
// model.moe.router: switch_loss, uniform_mse_loss, ...; 0 = no balancing loss).
// Every eval_every steps and at the end the test split is evaluated (accuracy, expert
// utilization, specialization index, load-balance variance: analysis/classifier_metrics.h)
// and logged to OUT/metrics.jsonl; OUT/checkpoint is written at the end (io/checkpoint.h:
// model.safetensors holds the MoE's parameters and the baseline's under "baseline.").
#pragma once
#include <memory>
#include <string>

#include "moe/analysis/classifier_metrics.h"
#include "moe/data/sentiment.h"
#include "moe/models/moe_classifier.h"
#include "moe/train/lm_trainer.h"

namespace moe::train {

struct ClassifierDataConfig {
  std::string kind = "synthetic";  // synthetic | sentiment_fixtures
  int64_t train = 4000, test = 2000;
  double signal = 1.0, noise = 1.0;
  uint64_t seed = 7;
  std::string dir = "data/sentiment";
};

struct ClassifierTrainConfig {
  int64_t steps = 2000;
  int64_t batch_size = 64;
  double lr = 3e-3;
  double weight_decay = 1e-4;
  int64_t log_every = 100;
  int64_t eval_every = 500;
  uint64_t seed = 1;
  bool baseline = true;  // train the dense baseline beside the MoE
};

struct ClassifierRunConfig {
  models::ClassifierConfig model;
  ClassifierDataConfig data;
  ClassifierTrainConfig train;
  static ClassifierRunConfig parse_text(const std::string& text, const std::string& origin);
  nlohmann::json to_json() const;
};

// True when the config file's model.kind is "moe_classifier" (the CLI's train branch).
bool is_classifier_config(const std::string& path);

struct ClassifierData {
  data::Classification train, test;
  std::vector<std::string> class_names;
};
// The data the config names; `dir_override` (non-empty) replaces data.dir for fixtures.
ClassifierData load_classifier_data(const ClassifierRunConfig& run, const std::string& dir_override = "");

// Test-set accuracy and routing metrics of the MoE (eval mode, no gradients).
analysis::ClassifierMetrics evaluate_classifier(models::MoEClassifier& model, const data::Classification& d);
double evaluate_dense(const models::DenseClassifier& model, const data::Classification& d);

struct ClassifierTrainResult {
  analysis::ClassifierMetrics metrics;  // final test metrics of the MoE
  double baseline_accuracy = 0;         // 0 when the baseline is off
  double train_accuracy = 0;
  std::string checkpoint_dir;
};
// options: config_path, data_path (fixture dir override), out_dir, steps, seed, quiet.
ClassifierTrainResult train_classifier(const TrainOptions& options);

// A checkpoint written by train_classifier, loaded.
struct LoadedClassifier {
  ClassifierRunConfig run;
  std::unique_ptr<models::MoEClassifier> moe;
  std::unique_ptr<models::DenseClassifier> baseline;  // null when trained without
};
LoadedClassifier load_classifier_checkpoint(const std::string& dir);

}  // namespace moe::train
