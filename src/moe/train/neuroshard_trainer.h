// train/neuroshard_trainer.h: training and evaluation of NeuroShard (issue #6).
//
// Config file (configs/neuroshard_v*.json):
//   {"model": {"kind": "neuroshard", ...NeuroShardConfig...},
//    "data":  {"train": "datasets/neuroshard/v2_train.tsv", "test": "datasets/neuroshard/v2_test.tsv"},
//    "train": {"epochs": 300, "lr": 0.01, "ce_weight": 0.1, "seed": 1, "log_every": 50},
//    "out":   "runs/neuroshard_v2"}
// Data: TSV lines "topic<TAB>text" (topic one of model.topics; '#' lines and blank lines
// are skipped).
//
// Loss per text (batch 1, one Adam step per text, the training texts shuffled each epoch):
//   MSE(out[:S], onehot(topic))                      mean over the S = #topics outputs
//   + ce_weight * CE(router logits, topic)           the cross-entropy of the learned
//     router's PRE-softmax logits (Linear(dim -> S)(x)) against the topic id, i.e.
//     -log alpha[topic]; it is absent with the keyword router (fixed alpha).
// Accuracy: the share of texts whose dominant alpha (argmax of the route) is their topic;
// "head accuracy" uses argmax of out[:S] instead.
// Checkpoint: OUT/checkpoint (io::save_checkpoint: config.json = the config file verbatim,
// tokenizer.json = the featurizer spec, model.safetensors; state.json extra holds the
// accuracies).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "moe/models/neuroshard.h"

namespace moe::train {

struct LabelledText {
  int64_t topic = 0;  // index into the model's topics
  std::string text;
};
// Reads a TSV file; throws naming the file and line on an unknown topic or a missing tab.
std::vector<LabelledText> read_labelled_texts(const std::string& path, const std::vector<std::string>& topics);

struct NeuroShardFit {
  int64_t epochs = 300;
  double lr = 0.01;
  double ce_weight = 0.1;
  uint64_t seed = 1;
  int64_t log_every = 50;  // epochs; 0 = silent
};

// One text's loss (a 0-dim tensor) as described above.
Tensor neuroshard_loss(const models::NeuroShard& model, const LabelledText& example, double ce_weight);
// Trains `model` in place on `data`; returns the mean loss of the last epoch.
double fit_neuroshard(models::NeuroShard& model, const std::vector<LabelledText>& data, const NeuroShardFit& fit);

struct NeuroShardEval {
  double accuracy = 0;       // dominant alpha == topic
  double head_accuracy = 0;  // argmax out[:S] == topic
  int64_t texts = 0;
};
NeuroShardEval evaluate_neuroshard(const models::NeuroShard& model, const std::vector<LabelledText>& data);

struct NeuroShardTrainOptions {
  std::string config_path;
  std::string out_dir;    // overrides the config's "out"
  std::string data_path;  // overrides data.train
  std::optional<int64_t> epochs;
  std::optional<uint64_t> seed;
  bool quiet = false;
};

struct NeuroShardTrainResult {
  double final_loss = 0;
  NeuroShardEval train, test;
  std::string checkpoint_dir;
};

NeuroShardTrainResult train_neuroshard(const NeuroShardTrainOptions& options);

}  // namespace moe::train
