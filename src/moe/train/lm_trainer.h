// train/lm_trainer.h: training, evaluation and checkpointing of language models.
//
// A run directory holds metrics.jsonl (one JSON object per log step and per evaluation)
// and checkpoints: DIR/checkpoint (the latest; written every checkpoint_every steps and
// at the end, atomically). One seed drives everything: the model's initialisation, then
// batches, dropout and router noise in that order from the same generator, whose state
// is saved with each checkpoint, so a resumed run continues bit for bit.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "moe/data/tokenizer.h"
#include "moe/io/config.h"
#include "moe/models/transformer_lm.h"

namespace moe::train {

struct TrainConfig {
  int64_t batch_size = 16;
  int64_t steps = 2000;
  double lr = 1e-3;
  double min_lr = 1e-4;       // cosine decay floor
  int64_t warmup = 100;       // linear warmup steps
  double weight_decay = 0.01;
  double beta1 = 0.9, beta2 = 0.999;
  double grad_clip = 1.0;     // global norm; 0 = off
  int64_t log_every = 10;
  int64_t eval_every = 250;
  int64_t eval_batches = 20;  // validation batches per evaluation
  int64_t checkpoint_every = 500;
  uint64_t seed = 1337;

  static TrainConfig parse(io::ConfigReader& r);
  nlohmann::json to_json() const;
};

// The whole config file: {"model": {...}, "train": {...}, "tokenizer": {...}}, the
// tokenizer {"kind": "char"} (the default) or {"kind": "bpe", "vocab_size": N}.
struct RunConfig {
  models::LMConfig model;
  TrainConfig train;
  data::TokenizerSpec tokenizer;
  static RunConfig parse_file(const std::string& path);
  static RunConfig parse_text(const std::string& text, const std::string& origin);
  nlohmann::json to_json() const;
};

struct TrainOptions {
  std::string config_path;   // required unless resuming
  std::string data_path;     // the training text (a bpe tokenizer is trained on all of it)
  std::string out_dir;       // run directory
  std::string resume_dir;    // a checkpoint directory to continue from
  std::optional<int64_t> steps;   // overrides train.steps
  std::optional<uint64_t> seed;   // overrides train.seed
  std::optional<int64_t> stop_after;  // save a checkpoint and stop after this step (resume later)
  bool quiet = false;        // no progress output (tests)
};

struct TrainResult {
  int64_t steps = 0;
  double final_loss = 0;     // mean training loss of the last log window
  double final_val_loss = 0;
  double tokens_per_s = 0;
  std::string checkpoint_dir;
  std::vector<std::string> warnings;  // e.g. expert collapse (also in metrics.jsonl)
};

TrainResult train_lm(const TrainOptions& options);

// Mean next-token cross-entropy over `text` by the definition of `moe eval`: encode the
// whole text; non-overlapping windows at 0, T, 2T, ... of T + 1 tokens (inputs the first
// T, targets the last T); a final window that does not fit is dropped; the loss is
// averaged over every predicted position; eval mode (no dropout, no router noise).
struct EvalResult {
  double loss = 0;
  int64_t tokens = 0;  // predicted positions
};
EvalResult evaluate_lm(models::TransformerLM& model, const std::vector<int64_t>& tokens, int64_t batch_size = 16);

}  // namespace moe::train
