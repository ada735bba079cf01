// models/neuroshard.h: NeuroShard (issue #6), a text router over low-rank weight shards.
//
// A text is featurized to x (dim 64; data/text_features.h: mean of hashed word or
// character n-gram rows of a learned table, or the fixed letter-frequency vector). A
// router gives alpha over the S shards (one shard per topic):
//   learned  alpha = softmax(Linear(dim -> S)(x))
//   keyword  alpha one-hot on the topic whose keywords (keyword_table()) occur most often
//            among the text's words; ties share alpha equally among the tied topics; a
//            text with no keyword gets the uniform alpha 1/S.
// Then `layers` NeuroShard layers with a ReLU between consecutive ones, each
//   y = W_eff x,  W_eff = W_base + sum_i alpha_i U_i V_i
// (W_base (dim, dim) initialised to the identity; U_i (dim, rank), V_i (rank, dim),
// initialised N(0, 0.01^2)), all mixed by the SAME alpha. W_eff is never formed: with
// U_cat = [U_1 .. U_S] (dim, S rank), y = W_base x + U_cat (alpha_i (V_i x))_i, which is
// O(S rank dim) per text instead of O(S rank dim^2 + dim^2).
// The first S outputs score the topics (the training target is the one-hot topic).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "moe/core/rng.h"
#include "moe/data/text_features.h"
#include "moe/nn/embedding.h"
#include "moe/nn/linear.h"
#include "moe/nn/module.h"

namespace moe::models {

struct NeuroShardConfig {
  int64_t dim = 64;
  int64_t layers = 2;
  int64_t rank = 4;
  std::vector<std::string> topics = {"rap", "love", "math", "animals"};  // one shard each
  std::string router = "learned";  // "learned" or "keyword"
  data::FeaturizerSpec embedding;

  int64_t shards() const { return static_cast<int64_t>(topics.size()); }
  // The "model" object of a config file ({"kind": "neuroshard", ...}); `where` prefixes errors.
  static NeuroShardConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// The fixed router's keywords per topic (lower case; matched against whole words).
const std::map<std::string, std::vector<std::string>>& keyword_table();
// alpha of the keyword router for `text` over `topics` (a topic absent from the table
// has no keywords).
std::vector<double> keyword_alpha(const std::vector<std::string>& topics, const std::string& text);

// One NeuroShard layer: parameters "w_base" (dim, dim), "u" (S, dim, rank), "v" (S, rank, dim).
class NeuroShardLayer : public nn::Module {
 public:
  NeuroShardLayer(int64_t dim, int64_t shards, int64_t rank, Rng& rng, DType dtype = DType::f32);
  // x: (B, dim), alpha: (B, S) -> (B, dim)
  Tensor forward(const Tensor& x, const Tensor& alpha) const;

 private:
  int64_t dim_, shards_, rank_;
  Tensor w_base_, u_, v_;
};

struct NeuroShardOutput {
  Tensor logits;  // (B, S) the router's pre-softmax logits; undefined for the keyword router
  Tensor alpha;   // (B, S)
  Tensor out;     // (B, dim)
};

class NeuroShard : public nn::Module {
 public:
  NeuroShard(const NeuroShardConfig& config, Rng& rng, DType dtype = DType::f32);
  // The features (B, dim) of texts: differentiable in the table for learned featurizers.
  Tensor features(const std::vector<std::string>& texts) const;
  // From features x (B, dim); `texts` are needed by the keyword router only.
  NeuroShardOutput forward(const Tensor& x, const std::vector<std::string>& texts = {}) const;
  NeuroShardOutput forward(const std::vector<std::string>& texts) const { return forward(features(texts), texts); }
  // alpha of one text (no gradient).
  std::vector<double> route(const std::string& text) const;
  const NeuroShardConfig& config() const { return config_; }
  const std::vector<std::shared_ptr<NeuroShardLayer>>& layers() const { return layers_; }

 private:
  NeuroShardConfig config_;
  DType dtype_;
  std::shared_ptr<nn::Embedding> table_;  // learned featurizers only
  std::shared_ptr<nn::Linear> router_;    // learned router only
  std::vector<std::shared_ptr<NeuroShardLayer>> layers_;
};

// A trained model loaded from a checkpoint directory (config.json's "model" object,
// model.safetensors).
std::unique_ptr<NeuroShard> load_neuroshard(const std::string& checkpoint_dir);
// The model kind named by a config's JSON text: model.kind, "transformer_lm" if absent.
std::string config_model_kind(const std::string& config_json);

// Route of a text, for the CLI: "alpha  rap 0.9990  love 0.0003 ...  -> rap" or, with
// json, {"alpha": {topic: weight}, "dominant": topic}.
struct Route {
  std::vector<std::string> topics;
  std::vector<double> alpha;
  std::string dominant() const;
  std::string text_line() const;
  nlohmann::json to_json() const;
};
Route route_text(const NeuroShard& model, const std::string& text);

}  // namespace moe::models
