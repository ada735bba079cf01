// models/set_mlp.h: the multilayer perceptron of the SET experiments (Mocanu et al. 2018):
// sparse layers (sparse/set.h) with an Erdos-Renyi start, or, with `dense`, the same
// shape as ordinary nn::Linear layers (the dense baseline). Plus the strict JSON config
// of a SET run (configs/set_mnist.json).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "moe/io/config.h"
#include "moe/nn/linear.h"
#include "moe/sparse/set.h"

namespace moe::models {

struct SetMlpConfig {
  std::vector<int64_t> layers{784, 1000, 1000, 1000, 10};  // widths, input first
  std::string activation = "relu";  // any moe::activation name (the paper used SReLU)
  double density_epsilon = 20;      // SET's epsilon (sparse/set.h)
  bool dense = false;               // the dense baseline instead
};

struct SetTrainConfig {
  std::string dataset = "mnist";  // data::resolve_image_dataset name
  int64_t epochs = 10, batch_size = 100;
  double lr = 0.01, momentum = 0.9, weight_decay = 2e-4;  // SGD, as the paper
  double zeta = 0.3;                // fraction of each layer's connections rewired per epoch
  double regrow_std = 0.0;          // std of regrown weights (0: they start at exactly 0)
  int64_t train_limit = -1, test_limit = -1;  // first N examples (-1: all)
  uint64_t seed = 0;
};

struct SetConfig {
  SetMlpConfig model;
  SetTrainConfig train;
};

// Reads {"model": {...}, "train": {...}}: every key optional (defaults above), unknown
// keys and out-of-range values are errors naming the file and the key.
SetConfig parse_set_config(io::ConfigReader& root);
SetConfig load_set_config(const std::string& file);

class SetMLP : public nn::Module {
 public:
  SetMLP(const SetMlpConfig& config, Rng& rng);
  // x: (B, layers[0]) -> logits (B, layers.back()); the activation between layers.
  Tensor forward(const Tensor& x) const;
  const SetMlpConfig& config() const { return config_; }
  // Live connections (weights, bias excluded) per layer: nnz, or out * in when dense.
  std::vector<int64_t> connections_per_layer() const;
  // The dense shape's connection count, sum of out * in.
  int64_t dense_connections() const;
  // One SET step on every sparse layer (no-op list when dense); see SparseLinear::evolve.
  std::vector<sparse::EvolutionStats> evolve(double zeta, double regrow_std, Rng& rng, optim::Optimizer* optimizer);
  const std::vector<std::shared_ptr<sparse::SparseLinear>>& sparse_layers() const { return sparse_; }

 private:
  SetMlpConfig config_;
  std::vector<std::shared_ptr<sparse::SparseLinear>> sparse_;
  std::vector<std::shared_ptr<nn::Linear>> dense_;
};

}  // namespace moe::models
