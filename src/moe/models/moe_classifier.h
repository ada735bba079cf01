// models/moe_classifier.h: the top-2 MoE sentiment classifier of issue 6 and its dense
// baseline.
//
// MoEClassifier: features (N, F) -> one MoE layer whose experts are deeper MLPs ending
// in the class logits: E experts of kind "mlp" F -> hidden... -> classes (the seed:
// 4 experts 20 -> 64 -> 32 -> 3, ReLU), gates softmax(TopK(x W_g, 2)) (router "topk",
// topk_norm "softmax_topk"), logits = sum over the 2 chosen experts of gate * expert(x).
// A load-balancing loss is the router's aux loss (switch_loss or uniform_mse_loss
// coefficient in the config), read by the trainer from the layer.
//
// DenseClassifier: the baseline MLP F -> baseline_hidden... -> classes, ReLU. "Same
// active size" here means the same number of parameters used per example: the MoE
// touches the router (F * E) and k experts; the default baseline widths [100, 50] give
// 7,303 parameters against the seed MoE's 80 + 2 * 3,523 = 7,126 (within 3%); see
// active_parameters().
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "moe/io/config.h"
#include "moe/moe/moe_layer.h"
#include "moe/nn/linear.h"

namespace moe::models {

struct ClassifierConfig {
  int64_t features = 20;
  int64_t classes = 3;
  MoEConfig moe;                            // expert.kind "mlp", expert.d_out = classes
  std::vector<int64_t> baseline_hidden{100, 50};
  std::string activation = "relu";          // the baseline's (the experts' is moe.expert.activation)

  // The "model" object: {"kind": "moe_classifier", "features", "classes", "moe": {...},
  // "baseline_hidden": [...], "activation"}.
  static ClassifierConfig parse(io::ConfigReader& r);
  nlohmann::json to_json() const;
};

class MoEClassifier : public nn::Module {
 public:
  MoEClassifier(const ClassifierConfig& config, Rng& rng);
  // x: (N, features) -> logits (N, classes)
  Tensor forward(const Tensor& x);
  MoELayer& moe() { return *moe_; }
  const ClassifierConfig& config() const { return config_; }
  int64_t active_parameters() const { return moe_->active_parameters_per_token(); }

 private:
  ClassifierConfig config_;
  std::shared_ptr<MoELayer> moe_;
};

class DenseClassifier : public nn::Module {
 public:
  DenseClassifier(const ClassifierConfig& config, Rng& rng);
  Tensor forward(const Tensor& x) const;
  int64_t active_parameters() const { return num_parameters(); }

 private:
  std::string activation_;
  std::vector<std::shared_ptr<nn::Linear>> layers_;
};

}  // namespace moe::models
