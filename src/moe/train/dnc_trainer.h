// train/dnc_trainer.h: training and evaluation of the DNC (and its LSTM baseline) on
// the copy task (issue #7).
//
// Config file (configs/dnc_copy.json), every key checked by the strict ConfigReader:
//   {"model": {"kind": "dnc", "hidden": 64, "memory_slots": 16, "word_size": 16, "read_heads": 1},
//    "task":  {"bits": 6, "min_length": 1, "max_length": 10},
//    "train": {"steps": 4000, "batch": 16, "lr": 1e-3, "grad_clip": 10, "seed": 1,
//              "curriculum_steps": 0, "log_every": 50, "eval_every": 500,
//              "eval_lengths": [5, 10, 20], "eval_batches": 4, "eval_batch": 32},
//    "out":   "runs/dnc"}
// Each step draws one length L uniformly from [min_length, current max] (the current max
// grows linearly from min_length to max_length over the first curriculum_steps steps;
// 0 = no curriculum) and a batch of copy sequences of that length; the loss is the
// sigmoid binary cross-entropy on the output phase (ops/bce_loss.h); AdamW, global-norm
// clipping. A run directory holds metrics.jsonl ({"split": "train"} every log_every
// steps: mean loss and bit error rate of the window; {"split": "eval", "length": L} per
// evaluation length every eval_every steps and at the end) and OUT/checkpoint
// (io/checkpoint.h; config.json is the config verbatim, tokenizer.json
// {"kind": "copy_task", "bits": W}, the optimizer state too).
// Evaluation batches come from their own generator, seeded by (eval seed, length), so
// every evaluation of every model sees the same sequences.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "moe/data/copy_task.h"
#include "moe/io/config.h"
#include "moe/models/dnc/dnc.h"

namespace moe::train {

struct CopyTaskConfig {
  int64_t bits = 6;
  int64_t min_length = 1;
  int64_t max_length = 10;
};

struct CopyTrainConfig {
  int64_t steps = 4000;
  int64_t batch = 16;
  double lr = 1e-3;
  double grad_clip = 10.0;  // 0 = off
  uint64_t seed = 1;
  int64_t curriculum_steps = 0;
  int64_t log_every = 50;
  int64_t eval_every = 500;  // 0 = only at the end
  std::vector<int64_t> eval_lengths = {5, 10, 20};
  int64_t eval_batches = 4;
  int64_t eval_batch = 32;
};

struct CopyExperiment {
  models::dnc::SequenceModelConfig model;
  CopyTaskConfig task;
  CopyTrainConfig train;
  std::string out = "runs/dnc";
  // Throws naming the origin and the key for unknown keys, bad types and bad values.
  static CopyExperiment parse_text(const std::string& text, const std::string& origin);
  static CopyExperiment parse_file(const std::string& path);
};

// The model for an experiment: inputs bits + 1 channels, outputs bits.
std::unique_ptr<models::dnc::SequenceModel> make_copy_model(const CopyExperiment& e, Rng& rng,
                                                            DType dtype = DType::f32);

// The current maximum training length at `step` (0-based) under the curriculum.
int64_t curriculum_max_length(const CopyExperiment& e, int64_t step);

// Mean sigmoid BCE of the output phase and the bit error rate.
struct CopyScore {
  int64_t length = 0;
  double loss = 0;
  double bit_error_rate = 0;
};
// `batches` batches of `batch` sequences of `length`, from Rng(seed * 1000003 + length);
// no gradients recorded.
CopyScore evaluate_copy(const models::dnc::SequenceModel& model, int64_t bits, int64_t length, int64_t batches,
                        int64_t batch, uint64_t seed);

struct CopyTrainOptions {
  std::string config_path;
  std::string out_dir;            // overrides the config's "out"
  std::optional<int64_t> steps;   // overrides train.steps
  std::optional<uint64_t> seed;   // overrides train.seed
  bool quiet = false;
};

struct CopyTrainResult {
  int64_t steps = 0;
  double first_loss = 0;  // mean loss of the first log window
  double final_loss = 0;  // mean loss of the last log window
  std::vector<CopyScore> eval;  // at the end, per eval length
  std::string checkpoint_dir;
};

// Trains as described above (from an experiment, or from options.config_path).
CopyTrainResult train_copy(const CopyExperiment& experiment, const CopyTrainOptions& options,
                           const std::string& config_text);
CopyTrainResult train_copy(const CopyTrainOptions& options);

struct LoadedCopyModel {
  CopyExperiment experiment;
  std::unique_ptr<models::dnc::SequenceModel> model;
  int64_t step = 0;
  std::string checkpoint_dir;
};
// `dir` is a checkpoint directory or a run directory holding one at dir/checkpoint.
LoadedCopyModel load_copy_model(const std::string& dir);

}  // namespace moe::train
