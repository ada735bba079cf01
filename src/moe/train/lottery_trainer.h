// train/lottery_trainer.h: the lottery-ticket experiment on a ViT (Frankle & Carbin 2019,
// with rewinding: Frankle et al. 2019): train dense, prune, rewind, retrain, repeat, beside
// a random re-initialisation control with the same masks.
//
// Config file: {"model": {"kind": "vit", ...} (ViTConfig),
//   "data": {"kind": "fashion-mnist", "dir": "/usr/share/datasets/fashion-mnist",
//            "train": 10000, "test": 10000}   (first N of each split; -1 = all)
//        or {"kind": "synthetic", "train": 512, "test": 256, "noise": 0.5, "seed": 3},
//   "train": {"epochs", "batch_size", "lr", "min_lr", "warmup_steps", "weight_decay",
//             "clip", "seed", "eval_batch"},
//   "lottery": {"rounds", "prune_fraction", "rewind_step", "prune_patch_embed",
//               "reinit_control", "sensitivity"}}
//
// Round 0 trains the dense network for T = epochs * floor(train / batch_size) AdamW steps
// (warmup + cosine schedule), saving all weights after rewind_step = k steps (theta_k).
// Round r >= 1: prune prune_fraction of the surviving prunable weights globally by
// magnitude (sparse/magnitude_pruning.h), rewind every weight to theta_k, retrain steps
// k..T-1 of the same schedule with the masks (gradients masked before and weights after
// every step), evaluate: the ticket. theta_k holds the weights only: each training run
// starts a fresh AdamW (zero moments); the batch at step s is the same in every run.
// The control re-initialises the network from a fresh seed, applies the same masks and
// trains steps 0..T-1. Sparsity after r rounds is 1 - (1 - prune_fraction)^r (to
// rounding). With "sensitivity", the trained dense network is pruned one-shot (no
// retraining) at each round's sparsity: globally, attention-only and MLP-only (that
// component at that sparsity, the other dense), and evaluated.
// Each round appends one record to OUT/metrics.jsonl; OUT/accuracy_vs_sparsity.svg (ticket
// and control) and OUT/oneshot_sensitivity.svg (the one-shot pruning) plot them.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "moe/models/vit.h"

namespace moe::train {

struct LotteryDataConfig {
  std::string kind = "fashion-mnist";  // fashion-mnist | synthetic
  std::string dir = "/usr/share/datasets/fashion-mnist";
  int64_t train = 10000, test = 10000;  // -1: the whole split
  double noise = 0.5;                   // synthetic
  uint64_t seed = 3;                    // synthetic
};

struct LotteryTrainConfig {
  int64_t epochs = 2;
  int64_t batch_size = 64;
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup_steps = 100;
  double weight_decay = 0.0;
  double clip = 1.0;  // gradient-norm clip; 0 = none
  uint64_t seed = 1;
  int64_t eval_batch = 500;
};

struct LotteryConfig {
  int64_t rounds = 6;
  double prune_fraction = 0.2;
  int64_t rewind_step = 100;  // k; 0 = rewind to the initialisation (the original LTH)
  bool prune_patch_embed = false;
  bool reinit_control = true;
  bool sensitivity = true;
};

struct LotteryRunConfig {
  models::ViTConfig model;
  LotteryDataConfig data;
  LotteryTrainConfig train;
  LotteryConfig lottery;
  static LotteryRunConfig parse_text(const std::string& text, const std::string& origin);
  nlohmann::json to_json() const;
};

// Images (N, H, W) float32, standardised; labels (N) int64.
struct ImageSplit {
  Tensor images, labels;
  int64_t size() const { return labels.defined() ? labels.numel() : 0; }
};
struct LotteryData {
  ImageSplit train, test;
};
LotteryData load_lottery_data(const LotteryRunConfig& run);

// Synthetic stand-in for tests: each class is a fixed random image (smooth blobs) and an
// example is its class image plus N(0, noise^2) pixel noise. Labels cycle 0..classes-1.
ImageSplit make_synthetic_images(int64_t n, int64_t classes, int64_t image_size, double noise, Rng& rng);

// Test accuracy (eval mode, no gradients), in batches of `batch`.
double evaluate_vit(models::ViT& model, const ImageSplit& data, int64_t batch);

struct LotteryOptions {
  std::string config_path, out_dir;
  std::optional<int64_t> rounds;
  bool quiet = false;
};

struct LotteryRound {
  int64_t round = 0;
  double sparsity = 0;             // over the prunable weights
  double ticket_accuracy = 0;      // round 0: the dense network
  double reinit_accuracy = -1;     // -1 when not run (round 0, or control off)
  std::map<std::string, double> component_sparsity;
  // One-shot pruning of the trained dense network to this round's sparsity, no
  // retraining (-1 when sensitivity is off): global, attention-only, MLP-only.
  double oneshot_global_accuracy = -1, oneshot_attention_accuracy = -1, oneshot_mlp_accuracy = -1;
  double seconds = 0;
  nlohmann::json to_json() const;
};

// Runs the experiment (see the top of this file); returns one entry per round.
std::vector<LotteryRound> run_lottery(const LotteryOptions& options);

// The two SVG plots of `rounds` into `out_dir` (the sensitivity plot only when measured).
void write_lottery_plots(const std::string& out_dir, const std::vector<LotteryRound>& rounds);
// The rounds a run logged to its metrics.jsonl; throws naming the file and the record
// when one is not a lottery round.
std::vector<LotteryRound> read_lottery_rounds(const std::string& metrics_path);

}  // namespace moe::train
