// bench_small.cpp: `moe bench small`: small models, bound by the framework rather than
// the arithmetic. Times the training step of the sentiment MoE classifier (a batch of
// the config's size, random features) and of NeuroShard (one text, as its trainer steps),
// and sets each against its bare arithmetic: the same step's GEMMs (logged from the
// step, kernels/cpu/gemm_log.h) replayed alone. Target: step <= 3 x bare arithmetic.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/bench.h"
#include "cli/commands.h"
#include "moe/io/atomic_file.h"
#include "moe/io/config.h"
#include "moe/kernels/cpu/gemm_log.h"
#include "moe/moe.h"
#include "moe/models/moe_classifier.h"
#include "moe/models/neuroshard.h"
#include "moe/optim/adam.h"
#include "moe/train/classifier_trainer.h"
#include "moe/train/neuroshard_trainer.h"

namespace moe::cli {

namespace {

struct SmallBench {
  std::string classifier = "configs/moe_sentiment_synthetic.json";
  std::string neuroshard = "configs/neuroshard_v2.json";
  int64_t steps = 200;
  bool json = false;
};
SmallBench g_small;

struct SmallTiming {
  double step_us = 0, gemm_us = 0;
  int64_t gemms = 0;
  double gflop = 0;
};

// Median step time over `steps` after warm-up, each step followed by one replay of the
// step's GEMMs (logged from a warm-up step) so the two see the same machine load.
template <class Step>
SmallTiming time_small(int64_t steps, Step&& step) {
  for (int i = 0; i < 20; ++i) step(i);
  std::vector<kernels::cpu::GemmShape> log;
  kernels::cpu::set_gemm_log(&log);
  step(0);
  kernels::cpu::set_gemm_log(nullptr);
  std::vector<double> us, replay_us;
  for (int64_t i = 0; i < steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    step(i);
    us.push_back(elapsed_ms(t0) * 1e3);
    replay_us.push_back(kernels::cpu::replay_gemms_ms(log, 1) * 1e3);
  }
  SmallTiming t{median(us), median(replay_us), static_cast<int64_t>(log.size()), 0};
  for (const auto& g : log) t.gflop += g.flops() * 1e-9;
  return t;
}

SmallTiming classifier_step_timing(const std::string& path, int64_t steps) {
  train::ClassifierRunConfig run = train::ClassifierRunConfig::parse_text(io::read_file(path), path);
  Rng rng(run.train.seed);
  models::MoEClassifier model(run.model, rng);
  optim::AdamW opt(model.named_parameters(), {.lr = run.train.lr, .weight_decay = run.train.weight_decay});
  const int64_t B = run.train.batch_size;
  Tensor x = Tensor::randn({B, run.model.features}, rng);
  std::vector<int64_t> labels(static_cast<size_t>(B));
  for (auto& y : labels) y = rng.randint(0, run.model.classes);
  Tensor target = Tensor::from_vector(labels, {B});
  return time_small(steps, [&](int64_t) {
    opt.zero_grad();
    Tensor loss = cross_entropy(model.forward(x), target);
    Tensor aux = model.moe().aux_loss();
    (aux.defined() ? add(loss, aux) : loss).backward();
    opt.step();
  });
}

SmallTiming neuroshard_step_timing(const std::string& path, int64_t steps) {
  nlohmann::json cfg = nlohmann::json::parse(io::read_file(path));
  const models::NeuroShardConfig mc = models::NeuroShardConfig::from_json(cfg.at("model"), path + ": model");
  const std::string train_path = cfg.at("data").at("train").get<std::string>();
  const std::vector<train::LabelledText> texts = train::read_labelled_texts(train_path, mc.topics);
  MOE_CHECK(!texts.empty(), "bench small: {} has no texts", train_path);
  Rng rng(1);
  models::NeuroShard model(mc, rng);
  model.train();
  optim::AdamOptions ao;
  ao.lr = cfg.at("train").value("lr", 0.01);
  optim::Adam opt(model.named_parameters(), ao);
  const double ce_weight = cfg.at("train").value("ce_weight", 0.1);
  return time_small(steps, [&](int64_t i) {
    opt.zero_grad();
    train::neuroshard_loss(model, texts[static_cast<size_t>(i) % texts.size()], ce_weight).backward();
    opt.step();
  });
}

int run_small(const SmallBench& o) {
  nlohmann::json results = nlohmann::json::array();
  for (auto [name, path] : {std::pair{"moe_classifier", o.classifier}, {"neuroshard", o.neuroshard}}) {
    SmallTiming t = name == std::string("moe_classifier") ? classifier_step_timing(path, o.steps)
                                                          : neuroshard_step_timing(path, o.steps);
    fmt::print("bench small  {} ({})  threads {}\n", name, path, num_threads());
    fmt::print("  step {:.1f} us (median of {}); its {} GEMMs ({:.4f} GFLOP) alone {:.1f} us; ratio {:.2f}\n",
               t.step_us, o.steps, t.gemms, t.gflop, t.gemm_us, t.step_us / t.gemm_us);
    results.push_back({{"model", name},
                       {"config", path},
                       {"step_us", t.step_us},
                       {"gemm_replay_us", t.gemm_us},
                       {"gemms", t.gemms},
                       {"gflop_per_step", t.gflop},
                       {"ratio", t.step_us / t.gemm_us}});
  }
  if (o.json)
    fmt::print("{}\n", nlohmann::json{{"bench", "small"}, {"threads", num_threads()}, {"results", results}}.dump());
  return 0;
}

}  // namespace

void setup_bench_small(CLI::App& bench, std::function<void()> chosen) {
  SmallBench& o = g_small;
  CLI::App* s = bench.add_subcommand("small", "Small models' step vs their bare GEMMs (sentiment classifier, "
                                              "NeuroShard)");
  s->add_option("--classifier", o.classifier, "moe_classifier config")->check(CLI::ExistingFile);
  s->add_option("--neuroshard", o.neuroshard, "neuroshard config")->check(CLI::ExistingFile);
  s->add_option("--steps", o.steps, "Timed steps (median reported)")->check(CLI::PositiveNumber);
  s->add_flag("--json", o.json, "Print one JSON object as the last line");
  s->callback(std::move(chosen));
}

int run_bench_small() { return run_small(g_small); }

}  // namespace moe::cli
