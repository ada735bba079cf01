// models/moe_classifier.cpp: the MoE classifier, the dense baseline and their config.
#include "moe/models/moe_classifier.h"

#include "moe/moe/moe_config.h"
#include "moe/ops/elementwise.h"

namespace moe::models {

ClassifierConfig ClassifierConfig::parse(io::ConfigReader& r) {
  ClassifierConfig c;
  const std::string kind = r.require<std::string>("kind");
  MOE_CHECK(kind == "moe_classifier", "{}: expected \"moe_classifier\", got \"{}\"", r.where("kind"), kind);
  c.features = r.get<int64_t>("features", c.features);
  c.classes = r.get<int64_t>("classes", c.classes);
  MOE_CHECK(c.features >= 1, "{}: must be >= 1, got {}", r.where("features"), c.features);
  MOE_CHECK(c.classes >= 2, "{}: must be >= 2, got {}", r.where("classes"), c.classes);
  io::ConfigReader m = r.child("moe");
  c.moe = parse_moe_config(m, c.features);
  m.finish();
  MOE_CHECK(c.moe.expert.kind == "mlp", "{}: the classifier's experts must be of kind \"mlp\", got \"{}\"",
            r.where("moe.expert.kind"), c.moe.expert.kind);
  MOE_CHECK(c.moe.expert.d_out == 0 || c.moe.expert.d_out == c.classes, "{}: must equal classes ({}), got {}",
            r.where("moe.expert.d_out"), c.classes, c.moe.expert.d_out);
  c.moe.expert.d_out = c.classes;
  c.baseline_hidden = r.get<std::vector<int64_t>>("baseline_hidden", c.baseline_hidden);
  c.activation = r.get<std::string>("activation", c.activation);
  return c;
}

nlohmann::json ClassifierConfig::to_json() const {
  return {{"kind", "moe_classifier"}, {"features", features},     {"classes", classes},
          {"moe", moe_config_json(moe)}, {"baseline_hidden", baseline_hidden}, {"activation", activation}};
}

MoEClassifier::MoEClassifier(const ClassifierConfig& c, Rng& rng) : config_(c) {
  config_.moe.d_model = c.features;
  config_.moe.expert.d_out = c.classes;
  moe_ = register_module("moe", std::make_shared<MoELayer>(config_.moe, rng));
}

Tensor MoEClassifier::forward(const Tensor& x) {
  MOE_CHECK(x.dim() == 2 && x.size(1) == config_.features, "moe classifier: input must be (N, {}), got {}",
            config_.features, x.str());
  return moe_->forward(x);
}

DenseClassifier::DenseClassifier(const ClassifierConfig& c, Rng& rng) : activation_(c.activation) {
  std::vector<int64_t> widths{c.features};
  for (int64_t h : c.baseline_hidden) {
    MOE_CHECK(h >= 1, "dense classifier: hidden widths must be >= 1, got {}", h);
    widths.push_back(h);
  }
  widths.push_back(c.classes);
  for (size_t l = 0; l + 1 < widths.size(); ++l)
    layers_.push_back(register_module("fc" + std::to_string(l), std::make_shared<nn::Linear>(widths[l], widths[l + 1], rng)));
  activation(Tensor::zeros({1}), activation_);  // validates the name now
}

Tensor DenseClassifier::forward(const Tensor& x) const {
  Tensor h = x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    h = layers_[l]->forward(h);
    if (l + 1 < layers_.size()) h = activation(h, activation_);
  }
  return h;
}

}  // namespace moe::models
