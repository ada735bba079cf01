// models/neuroshard.cpp: the NeuroShard layer and model, the keyword router, loading.
#include "moe/models/neuroshard.h"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "moe/autograd/autograd.h"
#include "moe/io/atomic_file.h"
#include "moe/io/checkpoint.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/index.h"
#include "moe/ops/join.h"
#include "moe/ops/shard_linear.h"
#include "moe/ops/matmul.h"
#include "moe/ops/reduce.h"
#include "moe/ops/softmax.h"

namespace moe::models {

NeuroShardConfig NeuroShardConfig::from_json(const nlohmann::json& j, const std::string& where) {
  MOE_CHECK(j.is_object(), "{}: expected an object", where);
  static const std::set<std::string> keys = {"kind", "dim", "layers", "rank", "topics", "router", "embedding"};
  for (auto it = j.begin(); it != j.end(); ++it)
    MOE_CHECK(keys.count(it.key()), "{}: unknown key '{}'", where, it.key());
  MOE_CHECK(j.value("kind", std::string()) == "neuroshard", "{}.kind: expected 'neuroshard'", where);
  NeuroShardConfig c;
  try {
    c.dim = j.value("dim", c.dim);
    c.layers = j.value("layers", c.layers);
    c.rank = j.value("rank", c.rank);
    c.topics = j.value("topics", c.topics);
    c.router = j.value("router", c.router);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: {}", where, e.what()));
  }
  if (j.contains("embedding")) c.embedding = data::FeaturizerSpec::from_json(j["embedding"], where + ".embedding");
  MOE_CHECK(c.dim >= 1 && c.layers >= 1 && c.rank >= 1, "{}: dim, layers and rank must be >= 1 (got {}, {}, {})",
            where, c.dim, c.layers, c.rank);
  MOE_CHECK(c.shards() >= 1 && c.shards() <= c.dim, "{}.topics: need 1..dim topics, got {}", where, c.shards());
  MOE_CHECK(c.router == "learned" || c.router == "keyword", "{}.router: expected 'learned' or 'keyword', got '{}'",
            where, c.router);
  MOE_CHECK(c.embedding.learned() || c.dim >= 26, "{}: the letters embedding needs dim >= 26", where);
  return c;
}

nlohmann::json NeuroShardConfig::to_json() const {
  return {{"kind", "neuroshard"}, {"dim", dim},       {"layers", layers},
          {"rank", rank},         {"topics", topics}, {"router", router}, {"embedding", embedding.to_json()}};
}

const std::map<std::string, std::vector<std::string>>& keyword_table() {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"rap", {"rap", "rhyme", "rhymes", "beat", "beats", "mic", "flow", "street", "hood", "verse", "hustle", "gang",
               "punchline", "bars", "hiphop"}},
      {"love", {"love", "heart", "kiss", "darling", "tender", "romance", "sweet", "hug", "peace", "soul", "beloved"}},
      {"math", {"math", "integral", "theorem", "equation", "proof", "algebra", "number", "derivative", "matrix",
                "prime", "calculus"}},
      {"animals", {"animal", "animals", "dog", "cat", "bird", "horse", "mouse", "bear", "hund", "katze", "vogel",
                   "pferd", "maus", "b\xC3\xA4r"}},
  };
  return table;
}

std::vector<double> keyword_alpha(const std::vector<std::string>& topics, const std::string& text) {
  const size_t s = topics.size();
  std::vector<double> hits(s, 0.0);
  const std::vector<std::string> words = data::split_words(text);
  for (size_t t = 0; t < s; ++t) {
    auto it = keyword_table().find(topics[t]);
    if (it == keyword_table().end()) continue;
    for (const std::string& w : words) hits[t] += std::count(it->second.begin(), it->second.end(), w);
  }
  const double best = *std::max_element(hits.begin(), hits.end());
  std::vector<double> alpha(s, 1.0 / static_cast<double>(s));
  if (best == 0) return alpha;
  const double tied = static_cast<double>(std::count(hits.begin(), hits.end(), best));
  for (size_t t = 0; t < s; ++t) alpha[t] = hits[t] == best ? 1.0 / tied : 0.0;
  return alpha;
}

NeuroShardLayer::NeuroShardLayer(int64_t dim, int64_t shards, int64_t rank, Rng& rng, DType dtype)
    : dim_(dim), shards_(shards), rank_(rank) {
  w_base_ = Tensor::zeros({dim, dim}, dtype);
  for (int64_t i = 0; i < dim; ++i) w_base_.select(0, i).select(0, i).fill_(1.0);
  u_ = Tensor::randn({shards, dim, rank}, rng, 0.01, dtype);
  v_ = Tensor::randn({shards, rank, dim}, rng, 0.01, dtype);
  register_parameter("w_base", w_base_);
  register_parameter("u", u_);
  register_parameter("v", v_);
}

Tensor NeuroShardLayer::forward(const Tensor& x, const Tensor& alpha) const {
  MOE_CHECK(x.dim() == 2 && x.size(1) == dim_ && alpha.dim() == 2 && alpha.size(0) == x.size(0) &&
                alpha.size(1) == shards_,
            "NeuroShardLayer: expected x (B, {}) and alpha (B, {}), got x {} and alpha {}", dim_, shards_, x.str(),
            alpha.str());
  // One op (ops/shard_linear.h): W_base x + [U_1 .. U_S] (alpha_i (V_i x))_i.
  return shard_linear(x, alpha, w_base_, u_, v_);
}

NeuroShard::NeuroShard(const NeuroShardConfig& config, Rng& rng, DType dtype) : config_(config), dtype_(dtype) {
  if (config.embedding.learned())
    table_ = register_module("table", std::make_shared<nn::Embedding>(config.embedding.rows, config.dim, rng, dtype));
  if (config.router == "learned")
    router_ = register_module("router", std::make_shared<nn::Linear>(config.dim, config.shards(), rng, true, dtype));
  auto list = register_module("layers", std::make_shared<nn::ModuleList>());
  for (int64_t l = 0; l < config.layers; ++l)
    layers_.push_back(
        list->push_back(std::make_shared<NeuroShardLayer>(config.dim, config.shards(), config.rank, rng, dtype)));
}

Tensor NeuroShard::features(const std::vector<std::string>& texts) const {
  std::vector<Tensor> rows;
  for (const std::string& text : texts) {
    if (!table_) {
      rows.push_back(Tensor::from_vector(data::letter_feature(text, config_.dim), {config_.dim}).to(dtype_));
      continue;
    }
    const std::vector<int64_t> ids = data::hashed_ids(config_.embedding, text);
    if (ids.empty()) {  // no word: the zero vector
      rows.push_back(Tensor::zeros({config_.dim}, dtype_));
      continue;
    }
    const Tensor idt = Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())});
    rows.push_back(mean(embedding(table_->weight(), idt), {0}));
  }
  if (rows.size() == 1) return rows[0].unsqueeze(0);  // one text (as the trainer steps): a view, no copy
  return stack(rows, 0);
}

NeuroShardOutput NeuroShard::forward(const Tensor& x, const std::vector<std::string>& texts) const {
  NeuroShardOutput o;
  if (router_) {
    o.logits = router_->forward(x);
    o.alpha = softmax(o.logits, -1);
  } else {
    MOE_CHECK(static_cast<int64_t>(texts.size()) == x.size(0), "NeuroShard: the keyword router needs the {} texts, got {}",
              x.size(0), texts.size());
    std::vector<double> a;
    for (const std::string& t : texts) {
      std::vector<double> row = keyword_alpha(config_.topics, t);
      a.insert(a.end(), row.begin(), row.end());
    }
    o.alpha = Tensor::from_vector(a, {x.size(0), config_.shards()}).to(dtype_);
  }
  Tensor h = x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    if (l > 0) h = relu(h);
    h = layers_[l]->forward(h, o.alpha);
  }
  o.out = h;
  return o;
}

std::vector<double> NeuroShard::route(const std::string& text) const {
  NoGradGuard no_grad;
  return forward(std::vector<std::string>{text}).alpha.to_vector<double>();
}

std::unique_ptr<NeuroShard> load_neuroshard(const std::string& checkpoint_dir) {
  io::CheckpointData meta = io::read_checkpoint_meta(checkpoint_dir);
  nlohmann::json cfg = nlohmann::json::parse(meta.config_json);
  MOE_CHECK(cfg.contains("model"), "{}/config.json: no 'model' object", checkpoint_dir);
  NeuroShardConfig c = NeuroShardConfig::from_json(cfg["model"], checkpoint_dir + "/config.json: model");
  Rng rng(0);
  auto model = std::make_unique<NeuroShard>(c, rng);
  io::load_params(checkpoint_dir, model->named_parameters());
  model->eval();
  return model;
}

std::string config_model_kind(const std::string& config_json) {
  nlohmann::json j = nlohmann::json::parse(config_json, nullptr, false);
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) return "transformer_lm";
  return j["model"].value("kind", std::string("transformer_lm"));
}

std::string Route::dominant() const {
  return topics.at(static_cast<size_t>(std::max_element(alpha.begin(), alpha.end()) - alpha.begin()));
}

std::string Route::text_line() const {
  std::string line = "alpha";
  for (size_t i = 0; i < topics.size(); ++i) line += fmt::format("  {} {:.4f}", topics[i], alpha[i]);
  return line + "  -> " + dominant();
}

nlohmann::json Route::to_json() const {
  nlohmann::json a = nlohmann::json::object();
  for (size_t i = 0; i < topics.size(); ++i) a[topics[i]] = alpha[i];
  return {{"alpha", a}, {"dominant", dominant()}};
}

Route route_text(const NeuroShard& model, const std::string& text) {
  return {model.config().topics, model.route(text)};
}

}  // namespace moe::models
