// train/fewshot_trainer.h: meta-training and evaluation of the memory-augmented few-shot
// transformer (models/memory_fewshot.h) on N-way K-shot episodes (data/episodes.h),
// with the nearest-class-mean baselines.
//
// Config (configs/fewshot_*.json; every object read strictly, unknown keys are errors):
//   {"model": {...FewShotConfig...},
//    "data":  {"dataset": "hershey" | "synthetic",
//              "dir": "/usr/share/hershey-fonts",
//              "test_fonts": ["..."] (or "test_fraction": 0.25 and "split_seed": 1),
//              "raster": {"size": 28, "box": 20, "rotation_deg": 10, "scale": 0.12, "shear": 0.15,
//                         "translate": 1.5, "vertex_noise": 0.35, "thickness": 1.6, "thickness_jitter": 0.4},
//              "synthetic": {"noise": 0.6}},
//    "train": {"steps": 3000, "lr": 1e-3, "min_lr": 1e-4, "warmup": 100, "weight_decay": 0.01, "clip": 1.0,
//              "ways": [3, 5], "shots": [1, 2, 5], "queries": 5, "seed": 1, "log_every": 50,
//              "eval_every": 500, "eval_episodes": 100},
//    "out": "runs/fewshot"}
// Each training step draws one episode whose N and K are drawn uniformly from
// train.ways and train.shots, so one model serves every setting; the loss is the
// cross-entropy of the query logits. Training episodes come from the meta-train classes
// only; the periodic "eval" records of metrics.jsonl and `moe fewshot --eval` use the
// meta-test classes (nothing is selected on them: the last checkpoint is the result).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "moe/data/episodes.h"
#include "moe/models/memory_fewshot.h"

namespace moe::train {

struct FewShotDataConfig {
  std::string dataset = "hershey";
  std::string dir = "/usr/share/hershey-fonts";
  std::vector<std::string> test_fonts;  // empty: a seeded random test_fraction of the fonts
  double test_fraction = 0.25;
  uint64_t split_seed = 1;
  data::RasterOptions raster;
  double synthetic_noise = 0.6;
};

struct FewShotTrainConfig {
  int64_t steps = 3000;
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup = 100;
  double weight_decay = 0.01;
  double clip = 1.0;  // global gradient-norm clip; 0 = none
  std::vector<int64_t> ways{3, 5}, shots{1, 2, 5};
  int64_t queries = 5;
  uint64_t seed = 1;
  int64_t log_every = 50;
  int64_t eval_every = 500;  // 0 = no periodic evaluation
  int64_t eval_episodes = 100;
};

struct FewShotRunConfig {
  models::FewShotConfig model;
  FewShotDataConfig data;
  FewShotTrainConfig train;
  std::string out;
  std::string text;  // the config file verbatim (stored in checkpoints)
  static FewShotRunConfig from_string(const std::string& text, const std::string& origin);
  static FewShotRunConfig from_file(const std::string& path);
};

struct FewShotSamplers {
  std::unique_ptr<data::EpisodeSampler> train, test;
  std::string split_description;  // e.g. "test fonts: a, b (120 classes); train: 900 classes"
};
// The meta-train and meta-test samplers of `data`; `features` is the model's input size
// (the synthetic task draws vectors of that size; glyph images must match it).
FewShotSamplers make_samplers(const FewShotDataConfig& data, int64_t features);

struct EpisodeScore {
  Tensor loss;  // 0-dim, the mean query cross-entropy
  double accuracy = 0;
  Tensor embeddings;  // the encoder outputs, support rows then query rows
};
EpisodeScore score_episode(const models::MemoryFewShot& model, const data::Episode& episode);

// Nearest class mean (Snell et al. 2017's prototype rule with Euclidean distance) on the
// given features: each query takes the label of the closest support-class mean. Returns
// the query accuracy. support (N*K, F), query (n, F), labels int64.
double ncm_accuracy(const Tensor& support, const Tensor& support_labels, const Tensor& query, const Tensor& query_labels,
                    int64_t ways);

struct Accuracy {
  double mean = 0, ci95 = 0;  // over episodes: mean and 1.96 * sd / sqrt(episodes)
};
struct SettingResult {
  int64_t ways = 0, shots = 0, queries = 0, episodes = 0;
  double chance = 0;
  Accuracy model, ncm_pixels, ncm_embedding;
};
// `episodes` episodes per (ways, shots) pair, drawn from `sampler` with Rng(seed + setting index).
std::vector<SettingResult> evaluate_fewshot(const models::MemoryFewShot& model, const data::EpisodeSampler& sampler,
                                            const std::vector<int64_t>& ways, const std::vector<int64_t>& shots,
                                            int64_t episodes, int64_t queries, uint64_t seed);

struct FewShotFitLog {
  double final_loss = 0;      // mean over the last log_every steps
  double final_accuracy = 0;  // same, training-episode query accuracy
};
// Meta-trains `model` in place for train.steps episodes from `sampler`. With `out_dir`
// non-empty: metrics.jsonl, a progress report and checkpoints there (with `test` for
// the periodic evaluation); empty: silent, nothing written (tests).
FewShotFitLog fit_fewshot(models::MemoryFewShot& model, const data::EpisodeSampler& sampler,
                          const FewShotRunConfig& config, const std::string& out_dir = "",
                          const data::EpisodeSampler* test = nullptr);

struct FewShotTrainOptions {
  std::string config_path, out_dir, dataset;  // out_dir/dataset override the config's
  std::optional<int64_t> steps;
};
// Reads the config, builds model and samplers, trains, saves OUT/checkpoint.
void train_fewshot(const FewShotTrainOptions& options);

// Loads the model (and its run config) from a checkpoint directory, or an out directory
// holding checkpoint/.
struct LoadedFewShot {
  std::unique_ptr<models::MemoryFewShot> model;
  FewShotRunConfig config;
  std::string checkpoint_dir;
};
LoadedFewShot load_fewshot(const std::string& dir);

// "3-way 2-shot (6 examples)   model 0.912 +- 0.011   chance 0.333   NCM pixels ..."
std::string format_setting(const SettingResult& r);

}  // namespace moe::train
