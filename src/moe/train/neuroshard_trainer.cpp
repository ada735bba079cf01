// train/neuroshard_trainer.cpp: NeuroShard's data reader, loss, Adam loop and checkpoint.
#include "moe/train/neuroshard_trainer.h"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "moe/autograd/autograd.h"
#include "moe/io/atomic_file.h"
#include "moe/io/checkpoint.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/loss.h"
#include "moe/optim/adam.h"

namespace moe::train {

std::vector<LabelledText> read_labelled_texts(const std::string& path, const std::vector<std::string>& topics) {
  std::ifstream in(path);
  MOE_CHECK(in.good(), "neuroshard data: cannot open '{}'", path);
  std::vector<LabelledText> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    MOE_CHECK(tab != std::string::npos, "{}:{}: expected 'topic<TAB>text'", path, n);
    const std::string topic = line.substr(0, tab);
    auto it = std::find(topics.begin(), topics.end(), topic);
    MOE_CHECK(it != topics.end(), "{}:{}: unknown topic '{}'", path, n, topic);
    out.push_back({static_cast<int64_t>(it - topics.begin()), line.substr(tab + 1)});
  }
  MOE_CHECK(!out.empty(), "neuroshard data: '{}' holds no texts", path);
  return out;
}

Tensor neuroshard_loss(const models::NeuroShard& model, const LabelledText& example, double ce_weight) {
  const int64_t s = model.config().shards();
  models::NeuroShardOutput o = model.forward(std::vector<std::string>{example.text});
  std::vector<double> onehot(static_cast<size_t>(s), 0.0);
  onehot[static_cast<size_t>(example.topic)] = 1.0;
  const Tensor target = Tensor::from_vector(onehot, {1, s}).to(o.out.dtype());
  Tensor loss = mse_loss(o.out.slice(1, 0, s), target);
  if (o.logits.defined() && ce_weight != 0) {
    const Tensor topic = Tensor::from_vector(std::vector<int64_t>{example.topic}, {1});
    loss = add(loss, mul(cross_entropy(o.logits, topic), ce_weight));
  }
  return loss;
}

double fit_neuroshard(models::NeuroShard& model, const std::vector<LabelledText>& data, const NeuroShardFit& fit) {
  MOE_CHECK(fit.epochs >= 1 && fit.lr > 0, "neuroshard: need epochs >= 1 and lr > 0 (got {}, {})", fit.epochs, fit.lr);
  optim::AdamOptions ao;
  ao.lr = fit.lr;
  optim::Adam opt(model.named_parameters(), ao);
  Rng rng(fit.seed);
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), size_t{0});
  model.train();
  double epoch_loss = 0;
  for (int64_t e = 1; e <= fit.epochs; ++e) {
    for (size_t i = order.size(); i > 1; --i)  // Fisher-Yates with our Philox stream
      std::swap(order[i - 1], order[static_cast<size_t>(rng.uniform() * static_cast<double>(i)) % i]);
    double total = 0;
    for (size_t i : order) {
      opt.zero_grad();
      Tensor loss = neuroshard_loss(model, data[i], fit.ce_weight);
      loss.backward();
      opt.step();
      total += loss.item();
    }
    epoch_loss = total / static_cast<double>(data.size());
    if (fit.log_every > 0 && (e % fit.log_every == 0 || e == 1 || e == fit.epochs))
      fmt::print("epoch {:>4}/{}  loss {:.6f}\n", e, fit.epochs, epoch_loss);
  }
  model.eval();
  return epoch_loss;
}

NeuroShardEval evaluate_neuroshard(const models::NeuroShard& model, const std::vector<LabelledText>& data) {
  NoGradGuard no_grad;
  const int64_t s = model.config().shards();
  NeuroShardEval r;
  int64_t hit = 0, head_hit = 0;
  for (const LabelledText& ex : data) {
    models::NeuroShardOutput o = model.forward(std::vector<std::string>{ex.text});
    const std::vector<double> alpha = o.alpha.to_vector<double>();
    const std::vector<double> head = o.out.slice(1, 0, s).to_vector<double>();
    hit += std::max_element(alpha.begin(), alpha.end()) - alpha.begin() == ex.topic;
    head_hit += std::max_element(head.begin(), head.end()) - head.begin() == ex.topic;
  }
  r.texts = static_cast<int64_t>(data.size());
  r.accuracy = static_cast<double>(hit) / static_cast<double>(r.texts);
  r.head_accuracy = static_cast<double>(head_hit) / static_cast<double>(r.texts);
  return r;
}

NeuroShardTrainResult train_neuroshard(const NeuroShardTrainOptions& o) {
  const std::string config_text = io::read_file(o.config_path);
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(config_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: {}", o.config_path, e.what()));
  }
  for (auto it = cfg.begin(); it != cfg.end(); ++it)
    MOE_CHECK(it.key() == "model" || it.key() == "data" || it.key() == "train" || it.key() == "out",
              "{}: unknown key '{}'", o.config_path, it.key());
  const models::NeuroShardConfig mc = models::NeuroShardConfig::from_json(cfg.value("model", nlohmann::json()),
                                                                         o.config_path + ": model");
  NeuroShardFit fit;
  const nlohmann::json t = cfg.value("train", nlohmann::json::object());
  for (auto it = t.begin(); it != t.end(); ++it)
    MOE_CHECK(it.key() == "epochs" || it.key() == "lr" || it.key() == "ce_weight" || it.key() == "seed" ||
                  it.key() == "log_every",
              "{}: train: unknown key '{}'", o.config_path, it.key());
  fit.epochs = o.epochs.value_or(t.value("epochs", fit.epochs));
  fit.lr = t.value("lr", fit.lr);
  fit.ce_weight = t.value("ce_weight", fit.ce_weight);
  fit.seed = o.seed.value_or(t.value("seed", fit.seed));
  fit.log_every = o.quiet ? 0 : t.value("log_every", fit.log_every);
  const nlohmann::json d = cfg.value("data", nlohmann::json::object());
  const std::string train_path = o.data_path.empty() ? d.value("train", std::string()) : o.data_path;
  const std::string test_path = d.value("test", std::string());
  MOE_CHECK(!train_path.empty(), "{}: data.train is missing (or pass --data FILE)", o.config_path);
  const std::string out_dir = o.out_dir.empty() ? cfg.value("out", std::string()) : o.out_dir;
  MOE_CHECK(!out_dir.empty(), "{}: 'out' is missing (or pass --out DIR)", o.config_path);

  const std::vector<LabelledText> train = read_labelled_texts(train_path, mc.topics);
  const std::vector<LabelledText> test =
      test_path.empty() ? std::vector<LabelledText>{} : read_labelled_texts(test_path, mc.topics);
  Rng rng(fit.seed);
  models::NeuroShard model(mc, rng);
  if (!o.quiet)
    fmt::print("neuroshard: {} parameters, embedding {}, router {}, {} layers; {} train / {} test texts, {} epochs, "
               "lr {}\n",
               model.num_parameters(), mc.embedding.kind, mc.router, mc.layers, train.size(), test.size(), fit.epochs,
               fit.lr);
  NeuroShardTrainResult r;
  r.final_loss = fit_neuroshard(model, train, fit);
  r.train = evaluate_neuroshard(model, train);
  if (!test.empty()) r.test = evaluate_neuroshard(model, test);
  if (!o.quiet)
    fmt::print("train accuracy {:.4f} (head {:.4f}); test accuracy {:.4f} (head {:.4f}) over {} texts\n",
               r.train.accuracy, r.train.head_accuracy, r.test.accuracy, r.test.head_accuracy, r.test.texts);

  std::filesystem::create_directories(out_dir);
  r.checkpoint_dir = out_dir + "/checkpoint";
  io::CheckpointData data;
  data.config_json = config_text;
  data.tokenizer_json = mc.embedding.to_json().dump();
  data.step = fit.epochs * static_cast<int64_t>(train.size());
  data.rng_seed = fit.seed;
  data.extra = {{"final_loss", r.final_loss},       {"train_accuracy", r.train.accuracy},
                {"test_accuracy", r.test.accuracy}, {"test_head_accuracy", r.test.head_accuracy},
                {"test_texts", r.test.texts},       {"epochs", fit.epochs}};
  io::save_checkpoint(r.checkpoint_dir, data, model.named_parameters());
  if (!o.quiet) fmt::print("checkpoint: {}\n", r.checkpoint_dir);
  return r;
}

}  // namespace moe::train
