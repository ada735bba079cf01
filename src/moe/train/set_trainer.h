// train/set_trainer.h: the SET training loop (Mocanu et al. 2018, Algorithm 1): SGD with
// momentum over shuffled minibatches; after each epoch the test accuracy, then (sparse
// models, all epochs but the last) one prune-and-regrow step per layer. Writes
// OUT/metrics.jsonl (one record per epoch) and OUT/summary.json.
//
// Optimizer: SGD with momentum, as the paper trained SET-MLP. Its one per-weight state
// (the momentum buffer) is remapped at each topology change: kept weights keep theirs,
// regrown weights start at 0.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "moe/data/idx.h"
#include "moe/models/set_mlp.h"

namespace moe::train {

struct SetRunOptions {
  std::string out_dir;
  bool progress = true;  // progress bar / lines on stdout
};

// Trains on `train` (images (N, H, W) flattened to H * W = config.model.layers[0]) and
// evaluates on `test`; returns the summary also written to OUT/summary.json.
nlohmann::json run_set_training(const models::SetConfig& config, const data::ImageDataset& train,
                                const data::ImageDataset& test, const SetRunOptions& options);

// Fraction of `images` (N, H, W) whose argmax logit equals the label, in batches.
double set_test_accuracy(const models::SetMLP& model, const data::ImageDataset& test, int64_t batch_size = 1000);

}  // namespace moe::train
