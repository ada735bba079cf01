// serve/served_model.cpp: loading a checkpoint by kind, generation with UTF-8 pieces,
// and the route of a text through NeuroShard or the MoE sentiment classifier.
#include "moe/serve/served_model.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "moe/autograd/autograd.h"
#include "moe/data/sentiment.h"
#include "moe/io/checkpoint.h"
#include "moe/serve/request_parse.h"

namespace moe::serve {

const char* kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::lm: return "lm";
    case ModelKind::neuroshard: return "neuroshard";
    case ModelKind::moe_classifier: return "moe_classifier";
  }
  return "?";
}

ModelKind checkpoint_kind(const std::string& dir) {
  const std::string kind = models::config_model_kind(io::read_checkpoint_meta(dir).config_json);
  if (kind == "transformer_lm") return ModelKind::lm;
  if (kind == "neuroshard") return ModelKind::neuroshard;
  if (kind == "moe_classifier") return ModelKind::moe_classifier;
  throw Error(fmt::format("{}/config.json: model.kind \"{}\" cannot be served (expected transformer_lm, neuroshard "
                          "or moe_classifier)", dir, kind));
}

std::string Utf8Joiner::take(const std::string& piece) {
  std::string bytes = std::exchange(pending_, std::string()) + piece;
  // The last lead byte within the final 3 bytes: hold it back if its character is cut short.
  const size_t n = bytes.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const unsigned char c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    const size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (len > back) {
      pending_ = bytes.substr(n - back);
      bytes.resize(n - back);
    }
    break;
  }
  return bytes;
}

nlohmann::json RouteResult::to_json() const {
  nlohmann::json j = {{"experts", experts},
                      {"probs", probs},
                      {"prediction", {{"index", prediction}, {"label", classes.at(prediction)}, {"probs", class_probs}}},
                      {"classes", classes}};
  j.update(extra);
  return j;
}

namespace {

// The experts and gates of token t in one routing (as models::LMSession reads them).
void token_route(const RouterOutput& ro, int64_t t, std::vector<int64_t>& experts, std::vector<double>& weights) {
  const RoutingPlan& p = ro.plan;
  const std::vector<double> gates = ro.gates.to_vector<double>();
  for (int64_t j = p.token_offsets[t]; j < p.token_offsets[t + 1]; ++j) {
    const int64_t pos = p.token_positions[j];
    int64_t e = 0;
    while (p.expert_offsets[e + 1] <= pos) ++e;
    experts.push_back(e);
    weights.push_back(gates[pos]);
  }
}

std::vector<double> softmax(const std::vector<double>& logits) {
  const double mx = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double total = 0;
  for (size_t i = 0; i < p.size(); ++i) total += p[i] = std::exp(logits[i] - mx);
  for (double& x : p) x /= total;
  return p;
}

int64_t argmax(const std::vector<double>& v) {
  return static_cast<int64_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

std::unique_ptr<ServedModel> ServedModel::load(const std::string& dir) {
  std::unique_ptr<ServedModel> m(new ServedModel());
  m->kind_ = checkpoint_kind(dir);
  m->dir_ = dir;
  m->config_ = nlohmann::json::parse(io::read_checkpoint_meta(dir).config_json);
  switch (m->kind_) {
    case ModelKind::lm:
      m->lm_ = std::make_unique<models::LMSession>(dir);
      break;
    case ModelKind::neuroshard:
      m->neuroshard_ = models::load_neuroshard(dir);
      break;
    case ModelKind::moe_classifier:
      m->classifier_ = train::load_classifier_checkpoint(dir);
      m->classifier_.moe->eval();
      m->class_names_ = m->classifier_.run.data.kind == "synthetic" ? data::synthetic_sentiment_classes()
                                                                     : data::fixture_sentiment_classes();
      break;
  }
  return m;
}

nlohmann::json ServedModel::info() const {
  nlohmann::json j = {{"kind", kind_name(kind_)}, {"config", config_}};
  switch (kind_) {
    case ModelKind::lm: {
      const models::LMConfig& c = lm_->model().config();
      const bool moe = c.ffn == "moe";
      j["parameters"] = {{"total", lm_->model().num_parameters()},
                         {"active_per_token", lm_->model().active_parameters_per_token()}};
      j["tokenizer"] = lm_->tokenizer().kind();
      j["layers"] = c.layers;
      j["moe_layers"] = moe ? c.layers : 0;
      j["experts"] = moe ? c.moe.num_experts : 0;
      j["experts_per_token"] = moe ? lm_->model().moe_layers()[0]->router().experts_per_token() : 0;
      j["context"] = c.context;
      j["vocab_size"] = c.vocab_size;
      break;
    }
    case ModelKind::neuroshard: {
      const models::NeuroShardConfig& c = neuroshard_->config();
      j["parameters"] = {{"total", neuroshard_->num_parameters()}, {"active_per_token", neuroshard_->num_parameters()}};
      j["tokenizer"] = c.embedding.kind;
      j["layers"] = c.layers;
      j["experts"] = c.shards();
      j["classes"] = c.topics;
      j["expert_names"] = c.topics;
      j["router"] = c.router;
      break;
    }
    case ModelKind::moe_classifier: {
      const models::ClassifierConfig& c = classifier_.run.model;
      std::vector<std::string> names;
      for (int64_t e = 0; e < c.moe.num_experts; ++e) names.push_back(fmt::format("expert {}", e));
      j["parameters"] = {{"total", classifier_.moe->num_parameters()},
                         {"active_per_token", classifier_.moe->active_parameters()}};
      j["tokenizer"] = classifier_.run.data.kind == "synthetic" ? "none (synthetic feature vectors)" : "hashed_ngrams";
      j["layers"] = 1;
      j["experts"] = c.moe.num_experts;
      j["classes"] = class_names_;
      j["expert_names"] = names;
      j["features"] = c.features;
      break;
    }
  }
  return j;
}

Generation ServedModel::generate(const std::string& prompt, int64_t max_tokens, const models::SamplingOptions& sampling,
                                 uint64_t seed, const std::function<void(const GeneratedToken&)>& on_token) {
  MOE_CHECK(kind_ == ModelKind::lm, "generate: {} holds a {} model, not a language model", dir_, kind_name(kind_));
  Generation g;
  g.prompt_tokens = static_cast<int64_t>(lm_->tokenizer().encode(prompt).size());
  Rng rng(seed);
  Utf8Joiner joiner;
  lm_->generate(prompt, max_tokens, sampling, rng, [&](const std::string& piece, const models::TokenRouting& r) {
    GeneratedToken t{joiner.take(piece), r};
    g.text += t.text;
    g.tokens.push_back(t);
    if (on_token) on_token(g.tokens.back());
  });
  g.text += joiner.flush();
  return g;
}

RouteResult ServedModel::route(const std::string& text) {
  switch (kind_) {
    case ModelKind::neuroshard: return route_neuroshard(text);
    case ModelKind::moe_classifier: return route_moe_classifier(text);
    case ModelKind::lm: break;
  }
  throw RequestError(ApiError{400, "invalid_request_error",
                              "/v1/route needs a routed classifier checkpoint (neuroshard or moe_classifier); this "
                              "server holds a language model (kind \"lm\"): use /v1/generate",
                              ""});
}

// NeuroShard's prediction is its dominant route (the accuracy its trainer reports); the
// head's topic scores (first S outputs, trained towards the one-hot topic) come as "head".
RouteResult ServedModel::route_neuroshard(const std::string& text) {
  NoGradGuard no_grad;
  const models::NeuroShardConfig& c = neuroshard_->config();
  models::NeuroShardOutput o = neuroshard_->forward(std::vector<std::string>{text});
  RouteResult r;
  r.experts = c.topics;
  r.probs = o.alpha.to_vector<double>();
  r.classes = c.topics;
  r.class_probs = r.probs;
  r.prediction = argmax(r.probs);
  const std::vector<double> head = o.out.slice(1, 0, c.shards()).to_vector<double>();
  r.extra = {{"head", head}, {"head_prediction", argmax(head)}};
  return r;
}

// The router's softmax over all experts, the 2 experts it picked with their gates
// ("chosen"), and softmax of the mixed logits over the classes.
RouteResult ServedModel::route_moe_classifier(const std::string& text) {
  const train::ClassifierRunConfig& run = classifier_.run;
  if (run.data.kind == "synthetic")
    throw RequestError(ApiError{400, "invalid_request_error",
                                "this moe_classifier was trained on synthetic feature vectors (data.kind \"synthetic\") "
                                "and has no text featurizer, so it cannot route a text",
                                "text"});
  NoGradGuard no_grad;
  const int64_t F = run.model.features;
  const Tensor x = Tensor::from_vector(data::hash_features(text, F), {1, F});
  const std::vector<double> logits = classifier_.moe->forward(x).to_vector<double>();
  const RouterOutput& ro = classifier_.moe->moe().last_routing();
  RouteResult r;
  for (int64_t e = 0; e < run.model.moe.num_experts; ++e) r.experts.push_back(fmt::format("expert {}", e));
  r.probs = ro.probs.to_vector<double>();
  r.classes = class_names_;
  r.class_probs = softmax(logits);
  r.prediction = argmax(r.class_probs);
  std::vector<int64_t> chosen;
  std::vector<double> gates;
  token_route(ro, 0, chosen, gates);
  r.extra = {{"chosen", {{"experts", chosen}, {"weights", gates}}}};
  return r;
}

}  // namespace moe::serve
