// models/set_mlp.cpp: SetMLP and its config.
#include "moe/models/set_mlp.h"

#include "moe/core/error.h"
#include "moe/ops/elementwise.h"

namespace moe::models {

SetConfig parse_set_config(io::ConfigReader& root) {
  SetConfig c;
  if (root.has("model")) {
    io::ConfigReader m = root.child("model");
    c.model.layers = m.get<std::vector<int64_t>>("layers", c.model.layers);
    c.model.activation = m.get<std::string>("activation", c.model.activation);
    c.model.density_epsilon = m.get<double>("density_epsilon", c.model.density_epsilon);
    c.model.dense = m.get<bool>("dense", c.model.dense);
    MOE_CHECK(c.model.layers.size() >= 2, "{}: need at least 2 widths (input and output)", m.where("layers"));
    for (int64_t w : c.model.layers) MOE_CHECK(w > 0, "{}: widths must be positive, got {}", m.where("layers"), w);
    MOE_CHECK(c.model.density_epsilon > 0, "{}: must be > 0, got {}", m.where("density_epsilon"),
              c.model.density_epsilon);
    m.finish();
  }
  if (root.has("train")) {
    io::ConfigReader t = root.child("train");
    SetTrainConfig& tr = c.train;
    tr.dataset = t.get<std::string>("dataset", tr.dataset);
    tr.epochs = t.get<int64_t>("epochs", tr.epochs);
    tr.batch_size = t.get<int64_t>("batch_size", tr.batch_size);
    tr.lr = t.get<double>("lr", tr.lr);
    tr.momentum = t.get<double>("momentum", tr.momentum);
    tr.weight_decay = t.get<double>("weight_decay", tr.weight_decay);
    tr.zeta = t.get<double>("zeta", tr.zeta);
    tr.regrow_std = t.get<double>("regrow_std", tr.regrow_std);
    tr.train_limit = t.get<int64_t>("train_limit", tr.train_limit);
    tr.test_limit = t.get<int64_t>("test_limit", tr.test_limit);
    tr.seed = t.get<uint64_t>("seed", tr.seed);
    MOE_CHECK(tr.epochs >= 1, "{}: must be >= 1, got {}", t.where("epochs"), tr.epochs);
    MOE_CHECK(tr.batch_size >= 1, "{}: must be >= 1, got {}", t.where("batch_size"), tr.batch_size);
    MOE_CHECK(tr.lr > 0, "{}: must be > 0, got {}", t.where("lr"), tr.lr);
    MOE_CHECK(tr.momentum >= 0 && tr.momentum < 1, "{}: must be in [0, 1), got {}", t.where("momentum"), tr.momentum);
    MOE_CHECK(tr.weight_decay >= 0, "{}: must be >= 0, got {}", t.where("weight_decay"), tr.weight_decay);
    MOE_CHECK(tr.zeta >= 0 && tr.zeta < 1, "{}: must be in [0, 1), got {}", t.where("zeta"), tr.zeta);
    MOE_CHECK(tr.regrow_std >= 0, "{}: must be >= 0, got {}", t.where("regrow_std"), tr.regrow_std);
    t.finish();
  }
  root.finish();
  return c;
}

SetConfig load_set_config(const std::string& file) {
  io::ConfigReader root = io::ConfigReader::from_file(file);
  return parse_set_config(root);
}

SetMLP::SetMLP(const SetMlpConfig& config, Rng& rng) : config_(config) {
  MOE_CHECK(config.layers.size() >= 2, "SetMLP: need at least 2 widths, got {}", config.layers.size());
  activation(Tensor::zeros({1}), config.activation);  // an unknown name throws here, not mid-training
  auto layers = register_module("layers", std::make_shared<nn::ModuleList>());
  for (size_t i = 0; i + 1 < config.layers.size(); ++i) {
    const int64_t in = config.layers[i], out = config.layers[i + 1];
    if (config.dense)
      dense_.push_back(layers->push_back(std::make_shared<nn::Linear>(in, out, rng)));
    else
      sparse_.push_back(layers->push_back(std::make_shared<sparse::SparseLinear>(in, out, config.density_epsilon, rng)));
  }
}

Tensor SetMLP::forward(const Tensor& x) const {
  Tensor h = x;
  const size_t n = config_.layers.size() - 1;
  for (size_t i = 0; i < n; ++i) {
    h = config_.dense ? dense_[i]->forward(h) : sparse_[i]->forward(h);
    if (i + 1 < n) h = activation(h, config_.activation);
  }
  return h;
}

std::vector<int64_t> SetMLP::connections_per_layer() const {
  std::vector<int64_t> out;
  for (const auto& l : sparse_) out.push_back(l->pattern()->nnz());
  for (const auto& l : dense_) out.push_back(l->in_features() * l->out_features());
  return out;
}

int64_t SetMLP::dense_connections() const {
  int64_t total = 0;
  for (size_t i = 0; i + 1 < config_.layers.size(); ++i) total += config_.layers[i] * config_.layers[i + 1];
  return total;
}

std::vector<sparse::EvolutionStats> SetMLP::evolve(double zeta, double regrow_std, Rng& rng,
                                                   optim::Optimizer* optimizer) {
  std::vector<sparse::EvolutionStats> stats;
  for (size_t i = 0; i < sparse_.size(); ++i)
    stats.push_back(sparse_[i]->evolve(zeta, regrow_std, rng, optimizer, "layers." + std::to_string(i) + ".values"));
  return stats;
}

}  // namespace moe::models
