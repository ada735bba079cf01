// train/classifier_trainer.cpp: the sentiment classifier's training loop, evaluation and
// checkpoint I/O.
#include "moe/train/classifier_trainer.h"

#include <fmt/core.h>

#include <fstream>
#include <sstream>

#include "moe/autograd/autograd.h"
#include "moe/io/checkpoint.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/index.h"
#include "moe/ops/loss.h"
#include "moe/ops/reduce.h"
#include "moe/optim/adam.h"
#include "moe/train/metrics_log.h"

namespace moe::train {

ClassifierRunConfig ClassifierRunConfig::parse_text(const std::string& text, const std::string& origin) {
  io::ConfigReader r = io::ConfigReader::from_string(text, origin);
  ClassifierRunConfig c;
  io::ConfigReader m = r.child("model");
  c.model = models::ClassifierConfig::parse(m);
  m.finish();
  if (r.has("data")) {
    io::ConfigReader d = r.child("data");
    ClassifierDataConfig& q = c.data;
    q.kind = d.get<std::string>("kind", q.kind);
    MOE_CHECK(q.kind == "synthetic" || q.kind == "sentiment_fixtures",
              "{}: expected \"synthetic\" or \"sentiment_fixtures\", got \"{}\"", d.where("kind"), q.kind);
    q.train = d.get<int64_t>("train", q.train);
    q.test = d.get<int64_t>("test", q.test);
    q.signal = d.get<double>("signal", q.signal);
    q.noise = d.get<double>("noise", q.noise);
    q.seed = d.get<uint64_t>("seed", q.seed);
    q.dir = d.get<std::string>("dir", q.dir);
    d.finish();
  }
  const int64_t data_classes = c.data.kind == "synthetic" ? 3 : 2;
  MOE_CHECK(c.model.classes == data_classes, "{}: data kind \"{}\" has {} classes, the model {}",
            r.where("model.classes"), c.data.kind, data_classes, c.model.classes);
  MOE_CHECK(c.data.kind != "synthetic" || c.model.features == data::kSyntheticSentimentFeatures,
            "{}: synthetic sentiment data has {} features, the model {}", r.where("model.features"),
            data::kSyntheticSentimentFeatures, c.model.features);
  if (r.has("train")) {
    io::ConfigReader t = r.child("train");
    ClassifierTrainConfig& q = c.train;
    q.steps = t.get<int64_t>("steps", q.steps);
    q.batch_size = t.get<int64_t>("batch_size", q.batch_size);
    q.lr = t.get<double>("lr", q.lr);
    q.weight_decay = t.get<double>("weight_decay", q.weight_decay);
    q.log_every = t.get<int64_t>("log_every", q.log_every);
    q.eval_every = t.get<int64_t>("eval_every", q.eval_every);
    q.seed = t.get<uint64_t>("seed", q.seed);
    q.baseline = t.get<bool>("baseline", q.baseline);
    MOE_CHECK(q.steps >= 1 && q.batch_size >= 1 && q.log_every >= 1 && q.eval_every >= 1,
              "{}: steps, batch_size, log_every and eval_every must be >= 1", t.where("steps"));
    t.finish();
  }
  r.finish();
  return c;
}

nlohmann::json ClassifierRunConfig::to_json() const {
  const ClassifierDataConfig& d = data;
  const ClassifierTrainConfig& t = train;
  return {{"model", model.to_json()},
          {"data",
           {{"kind", d.kind}, {"train", d.train}, {"test", d.test}, {"signal", d.signal}, {"noise", d.noise},
            {"seed", d.seed}, {"dir", d.dir}}},
          {"train",
           {{"steps", t.steps}, {"batch_size", t.batch_size}, {"lr", t.lr}, {"weight_decay", t.weight_decay},
            {"log_every", t.log_every}, {"eval_every", t.eval_every}, {"seed", t.seed}, {"baseline", t.baseline}}}};
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  MOE_CHECK(in.good(), "cannot open config {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Checkpoint tensors: the MoE's names as they are, the baseline's under "baseline.".
nn::NamedTensors checkpoint_params(const models::MoEClassifier& moe, const models::DenseClassifier* baseline) {
  nn::NamedTensors p = moe.named_parameters();
  if (baseline)
    for (auto& [name, t] : baseline->named_parameters()) p.emplace_back("baseline." + name, t);
  return p;
}

}  // namespace

bool is_classifier_config(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  return j.is_object() && j.contains("model") && j["model"].is_object() && j["model"].contains("kind") &&
         j["model"]["kind"] == "moe_classifier";
}

ClassifierData load_classifier_data(const ClassifierRunConfig& run, const std::string& dir_override) {
  const ClassifierDataConfig& d = run.data;
  ClassifierData out;
  if (d.kind == "synthetic") {
    MOE_CHECK(dir_override.empty(), "--data {}: the config's data are synthetic (generated); --data names a fixture "
              "directory for sentiment_fixtures runs", dir_override);
    Rng rng(d.seed);
    out.train = data::make_synthetic_sentiment(d.train, rng, d.signal, d.noise);
    out.test = data::make_synthetic_sentiment(d.test, rng, d.signal, d.noise);
    out.class_names = data::synthetic_sentiment_classes();
  } else {
    std::vector<data::LabelledText> texts = data::load_sentiment_fixtures(dir_override.empty() ? d.dir : dir_override);
    out.train = data::featurise(texts, run.model.features, false);
    out.test = data::featurise(texts, run.model.features, true);
    out.class_names = data::fixture_sentiment_classes();
  }
  return out;
}

analysis::ClassifierMetrics evaluate_classifier(models::MoEClassifier& model, const data::Classification& d) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  Tensor logits = model.forward(d.features);
  model.train(was_training);
  const double acc = mean(eq(argmax(logits, -1), d.labels).to(DType::f64)).item();
  const Tensor& experts = model.moe().last_routing().experts;
  MOE_CHECK(experts.defined(), "evaluate_classifier: the router must be token choice (topk)");
  const std::vector<int64_t> ex = experts.contiguous().to_vector<int64_t>(), y = d.labels.to_vector<int64_t>();
  const int64_t N = experts.size(0), k = experts.size(1);
  std::vector<std::vector<int64_t>> counts(model.moe().config().num_experts,
                                           std::vector<int64_t>(model.config().classes, 0));
  for (int64_t t = 0; t < N; ++t)
    for (int64_t j = 0; j < k; ++j) ++counts[ex[t * k + j]][y[t]];
  return analysis::classifier_metrics(counts, acc);
}

double evaluate_dense(const models::DenseClassifier& model, const data::Classification& d) {
  NoGradGuard no_grad;
  return mean(eq(argmax(model.forward(d.features), -1), d.labels).to(DType::f64)).item();
}

ClassifierTrainResult train_classifier(const TrainOptions& o) {
  MOE_CHECK(o.resume_dir.empty(), "train: --resume is not supported for moe_classifier runs (they take seconds)");
  MOE_CHECK(!o.out_dir.empty(), "train: --out DIR is required");
  ClassifierRunConfig run = ClassifierRunConfig::parse_text(read_file(o.config_path), o.config_path);
  if (o.steps) run.train.steps = *o.steps;
  if (o.seed) run.train.seed = *o.seed;
  const ClassifierTrainConfig& tc = run.train;
  ClassifierData data = load_classifier_data(run, o.data_path);

  Rng rng(tc.seed);
  models::MoEClassifier model(run.model, rng);
  std::unique_ptr<models::DenseClassifier> baseline;
  if (tc.baseline) baseline = std::make_unique<models::DenseClassifier>(run.model, rng);
  optim::AdamW opt(model.named_parameters(), {.lr = tc.lr, .weight_decay = tc.weight_decay});
  std::unique_ptr<optim::AdamW> bopt;
  if (baseline) bopt = std::make_unique<optim::AdamW>(baseline->named_parameters(),
                                                     optim::AdamOptions{.lr = tc.lr, .weight_decay = tc.weight_decay});
  MetricsLog log(o.out_dir);
  const int64_t n = data.train.features.size(0), B = tc.batch_size;
  const std::vector<int64_t> labels = data.train.labels.to_vector<int64_t>();
  const RouterConfig& rc = run.model.moe.router;
  if (!o.quiet)
    fmt::print("moe_classifier: {} train / {} test examples, {} features, {} classes; {} experts top-{}, "
               "switch_loss {}, uniform_mse_loss {}; active parameters {} (dense baseline {})\n",
               n, data.test.features.size(0), run.model.features, run.model.classes, run.model.moe.num_experts,
               rc.top_k, rc.switch_loss, rc.uniform_mse_loss, model.active_parameters(),
               baseline ? baseline->active_parameters() : 0);

  ClassifierTrainResult res;
  double loss_sum = 0, aux_sum = 0, bloss_sum = 0;
  for (int64_t step = 1; step <= tc.steps; ++step) {
    std::vector<int64_t> idx(B), y(B);
    for (int64_t b = 0; b < B; ++b) idx[b] = rng.randint(0, n), y[b] = labels[idx[b]];
    Tensor x = index_select(data.train.features, 0, Tensor::from_vector(idx, {B}));
    Tensor target = Tensor::from_vector(y, {B});
    opt.zero_grad();
    Tensor loss = cross_entropy(model.forward(x), target);
    Tensor aux = model.moe().aux_loss();
    Tensor total = aux.defined() ? add(loss, aux) : loss;
    total.backward();
    opt.step();
    loss_sum += loss.item();
    if (aux.defined()) aux_sum += aux.item();
    if (baseline) {
      bopt->zero_grad();
      Tensor bl = cross_entropy(baseline->forward(x), target);
      bl.backward();
      bopt->step();
      bloss_sum += bl.item();
    }
    if (step % tc.log_every == 0) {
      const double w = static_cast<double>(tc.log_every);
      log.write({{"step", step}, {"split", "train"}, {"loss", loss_sum / w}, {"aux_loss", aux_sum / w},
                 {"baseline_loss", bloss_sum / w}, {"routing", nlohmann::json::parse(model.moe().stats().to_json())}});
      loss_sum = aux_sum = bloss_sum = 0;
    }
    if (step % tc.eval_every == 0 || step == tc.steps) {
      res.metrics = evaluate_classifier(model, data.test);
      res.baseline_accuracy = baseline ? evaluate_dense(*baseline, data.test) : 0.0;
      nlohmann::json rec = res.metrics.to_json();
      rec["step"] = step;
      rec["split"] = "test";
      if (baseline) rec["baseline_accuracy"] = res.baseline_accuracy;
      log.write(rec);
      if (!o.quiet) {
        std::string util;
        for (double u : res.metrics.utilization) util += fmt::format(" {:.3f}", u);
        fmt::print("step {:5d}  test accuracy {:.4f}{}  utilization [{} ]  specialization {:.3f}  "
                   "load variance {:.5f}\n",
                   step, res.metrics.accuracy,
                   baseline ? fmt::format(" (dense baseline {:.4f})", res.baseline_accuracy) : std::string(), util,
                   res.metrics.specialization_index, res.metrics.load_balance_variance);
      }
    }
  }
  res.train_accuracy = evaluate_classifier(model, data.train).accuracy;
  io::CheckpointData cd;
  cd.config_json = run.to_json().dump(2);
  cd.tokenizer_json = "{}";  // features, not tokens
  cd.step = tc.steps;
  cd.rng_seed = tc.seed;
  cd.extra = {{"kind", "moe_classifier"}, {"test", res.metrics.to_json()}, {"train_accuracy", res.train_accuracy}};
  if (baseline) cd.extra["baseline_accuracy"] = res.baseline_accuracy;
  res.checkpoint_dir = o.out_dir + "/checkpoint";
  io::save_checkpoint(res.checkpoint_dir, cd, checkpoint_params(model, baseline.get()));
  if (!o.quiet)
    fmt::print("done: train accuracy {:.4f}, test accuracy {:.4f}; checkpoint {}\n", res.train_accuracy,
               res.metrics.accuracy, res.checkpoint_dir);
  return res;
}

LoadedClassifier load_classifier_checkpoint(const std::string& dir) {
  io::CheckpointData meta = io::read_checkpoint_meta(dir);
  LoadedClassifier l;
  l.run = ClassifierRunConfig::parse_text(meta.config_json, dir + "/config.json");
  Rng rng(0);
  l.moe = std::make_unique<models::MoEClassifier>(l.run.model, rng);
  if (l.run.train.baseline) l.baseline = std::make_unique<models::DenseClassifier>(l.run.model, rng);
  io::load_params(dir, checkpoint_params(*l.moe, l.baseline.get()));
  return l;
}

}  // namespace moe::train
