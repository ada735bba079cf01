// bench_small.cpp: `moe bench small`: small models, bound by the framework rather than
// the arithmetic. Times the training step of the sentiment MoE classifier (a batch of
// the config's size, random features) and of NeuroShard (one text, as its trainer steps),
// and sets each against its bare arithmetic: the same step's GEMMs (logged from the
// step, kernels/cpu/gemm_log.h) replayed alone, plus the optimizer's update of as many
// elements as the step's update touched, replayed on scratch arrays (for NeuroShard the
// Adam update is most of the arithmetic: its products are matrix-vector sized). Both
// ratios are printed; the target (issue 8) is step <= 3 x (GEMMs + update).
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
  std::string only;  // "classifier" or "neuroshard": time just that one (profiling)
  bool json = false;
};
SmallBench g_small;

struct SmallTiming {
  double step_us = 0, gemm_us = 0, update_us = 0;
  int64_t gemms = 0, update_elements = 0;
  double gflop = 0;
  double bare_us() const { return gemm_us + update_us; }
};

// Median wall us of one Adam update of n float elements on scratch arrays (the
// hyper-parameters of a typical step; the kernel's cost does not depend on them).
double replay_adam_us(int64_t n) {
  std::vector<float> p(static_cast<size_t>(n), 0.5f), g(static_cast<size_t>(n), 0.01f), m(static_cast<size_t>(n)),
      v(static_cast<size_t>(n));
  kernels::AdamHyper h;
  h.lr = 1e-3;
  h.step = 10;
  kernels::cpu::adam_update(p.data(), g.data(), m.data(), v.data(), n, h);  // warm
  auto t0 = std::chrono::steady_clock::now();
  kernels::cpu::adam_update(p.data(), g.data(), m.data(), v.data(), n, h);
  return elapsed_ms(t0) * 1e3;
}

// Median step time over `steps` after `warmup` steps (for NeuroShard one pass over the
// texts: the steady state, where Adam updates every table row the texts use), each step
// followed by one replay of the step's GEMMs (logged from a warm-up step) and of its
// optimizer update, so they see the same machine load.
template <class Step>
SmallTiming time_small(int64_t steps, int64_t warmup, const optim::Optimizer& opt, Step&& step) {
  for (int64_t i = 0; i < warmup; ++i) step(i);
  std::vector<kernels::cpu::GemmShape> log;
  kernels::cpu::set_gemm_log(&log);
  step(0);
  kernels::cpu::set_gemm_log(nullptr);
  const int64_t update_elements = opt.last_step_elements();
  std::vector<double> us, replay_us, update_us;
  for (int64_t i = 0; i < steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    step(i);
    us.push_back(elapsed_ms(t0) * 1e3);
    replay_us.push_back(kernels::cpu::replay_gemms_ms(log, 1) * 1e3);
    update_us.push_back(replay_adam_us(update_elements));
  }
  SmallTiming t{median(us), median(replay_us), median(update_us), static_cast<int64_t>(log.size()), update_elements, 0};
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
  return time_small(steps, 20, opt, [&](int64_t) {
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
  return time_small(steps, std::max<int64_t>(20, static_cast<int64_t>(texts.size())), opt, [&](int64_t i) {
    opt.zero_grad();
    train::neuroshard_loss(model, texts[static_cast<size_t>(i) % texts.size()], ce_weight).backward();
    opt.step();
  });
}

int run_small(const SmallBench& o) {
  nlohmann::json results = nlohmann::json::array();
  for (auto [name, path] : {std::pair{"moe_classifier", o.classifier}, {"neuroshard", o.neuroshard}}) {
    if (!o.only.empty() && name != (o.only == "classifier" ? std::string("moe_classifier") : o.only)) continue;
    SmallTiming t = name == std::string("moe_classifier") ? classifier_step_timing(path, o.steps)
                                                          : neuroshard_step_timing(path, o.steps);
    fmt::print("bench small  {} ({})  threads {}\n", name, path, num_threads());
    fmt::print("  step {:.1f} us (median of {}); its {} GEMMs ({:.4f} GFLOP) alone {:.1f} us (ratio {:.2f}); "
               "its Adam update of {} elements alone {:.1f} us\n",
               t.step_us, o.steps, t.gemms, t.gflop, t.gemm_us, t.step_us / t.gemm_us, t.update_elements,
               t.update_us);
    fmt::print("  step / bare arithmetic (GEMMs + update) = {:.2f} (target <= 3)\n", t.step_us / t.bare_us());
    results.push_back({{"model", name},
                       {"config", path},
                       {"step_us", t.step_us},
                       {"gemm_replay_us", t.gemm_us},
                       {"gemms", t.gemms},
                       {"gflop_per_step", t.gflop},
                       {"update_elements", t.update_elements},
                       {"update_replay_us", t.update_us},
                       {"ratio_gemm", t.step_us / t.gemm_us},
                       {"ratio", t.step_us / t.bare_us()}});
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
  s->add_option("--only", o.only, "Time one model only (for profiling)")->check(CLI::IsMember({"classifier", "neuroshard"}));
  s->add_flag("--json", o.json, "Print one JSON object as the last line");
  s->callback(std::move(chosen));
}

int run_bench_small() { return run_small(g_small); }

}  // namespace moe::cli
