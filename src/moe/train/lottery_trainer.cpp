// train/lottery_trainer.cpp: config, data, the masked training span and the rounds of
// iterative magnitude pruning with rewinding.
#include "moe/train/lottery_trainer.h"

#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>

#include "moe/analysis/svg_plot.h"
#include "moe/autograd/autograd.h"
#include "moe/data/idx.h"
#include "moe/io/atomic_file.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/index.h"
#include "moe/ops/loss.h"
#include "moe/ops/reduce.h"
#include "moe/optim/adam.h"
#include "moe/optim/clip.h"
#include "moe/optim/schedule.h"
#include "moe/sparse/magnitude_pruning.h"
#include "moe/train/metrics_log.h"

namespace moe::train {

LotteryRunConfig LotteryRunConfig::parse_text(const std::string& text, const std::string& origin) {
  io::ConfigReader r = io::ConfigReader::from_string(text, origin);
  LotteryRunConfig c;
  {
    io::ConfigReader m = r.child("model");
    c.model = models::ViTConfig::parse(m);
  }
  {
    io::ConfigReader d = r.child("data");
    LotteryDataConfig& dc = c.data;
    dc.kind = d.require<std::string>("kind");
    dc.train = d.get<int64_t>("train", dc.train);
    dc.test = d.get<int64_t>("test", dc.test);
    if (dc.kind == "fashion-mnist") {
      dc.dir = d.get<std::string>("dir", dc.dir);
    } else if (dc.kind == "synthetic") {
      dc.noise = d.get<double>("noise", dc.noise);
      dc.seed = d.get<uint64_t>("seed", dc.seed);
      MOE_CHECK(dc.noise >= 0, "{}: must be >= 0, got {}", d.where("noise"), dc.noise);
      MOE_CHECK(dc.train >= 1 && dc.test >= 1, "{}: synthetic splits need train and test >= 1, got {} and {}",
                d.where("train"), dc.train, dc.test);
    } else {
      throw Error(fmt::format("{}: expected 'fashion-mnist' or 'synthetic', got '{}'", d.where("kind"), dc.kind));
    }
    MOE_CHECK(dc.train == -1 || dc.train >= 1, "{}: must be >= 1 or -1 (all), got {}", d.where("train"), dc.train);
    MOE_CHECK(dc.test == -1 || dc.test >= 1, "{}: must be >= 1 or -1 (all), got {}", d.where("test"), dc.test);
    d.finish();
  }
  {
    io::ConfigReader t = r.child("train");
    LotteryTrainConfig& tc = c.train;
    tc.epochs = t.get<int64_t>("epochs", tc.epochs);
    tc.batch_size = t.get<int64_t>("batch_size", tc.batch_size);
    tc.lr = t.get<double>("lr", tc.lr);
    tc.min_lr = t.get<double>("min_lr", tc.min_lr);
    tc.warmup_steps = t.get<int64_t>("warmup_steps", tc.warmup_steps);
    tc.weight_decay = t.get<double>("weight_decay", tc.weight_decay);
    tc.clip = t.get<double>("clip", tc.clip);
    tc.seed = t.get<uint64_t>("seed", tc.seed);
    tc.eval_batch = t.get<int64_t>("eval_batch", tc.eval_batch);
    MOE_CHECK(tc.epochs >= 1, "{}: must be >= 1, got {}", t.where("epochs"), tc.epochs);
    MOE_CHECK(tc.batch_size >= 1, "{}: must be >= 1, got {}", t.where("batch_size"), tc.batch_size);
    MOE_CHECK(tc.eval_batch >= 1, "{}: must be >= 1, got {}", t.where("eval_batch"), tc.eval_batch);
    MOE_CHECK(tc.lr > 0 && tc.min_lr >= 0 && tc.min_lr <= tc.lr, "{}: need 0 <= min_lr <= lr and lr > 0, got lr {} "
              "min_lr {}", t.where("lr"), tc.lr, tc.min_lr);
    MOE_CHECK(tc.warmup_steps >= 0, "{}: must be >= 0, got {}", t.where("warmup_steps"), tc.warmup_steps);
    MOE_CHECK(tc.weight_decay >= 0, "{}: must be >= 0, got {}", t.where("weight_decay"), tc.weight_decay);
    MOE_CHECK(tc.clip >= 0, "{}: must be >= 0 (0 = no clipping), got {}", t.where("clip"), tc.clip);
    t.finish();
  }
  {
    io::ConfigReader l = r.child("lottery");
    LotteryConfig& lc = c.lottery;
    lc.rounds = l.get<int64_t>("rounds", lc.rounds);
    lc.prune_fraction = l.get<double>("prune_fraction", lc.prune_fraction);
    lc.rewind_step = l.get<int64_t>("rewind_step", lc.rewind_step);
    lc.prune_patch_embed = l.get<bool>("prune_patch_embed", lc.prune_patch_embed);
    lc.reinit_control = l.get<bool>("reinit_control", lc.reinit_control);
    lc.sensitivity = l.get<bool>("sensitivity", lc.sensitivity);
    MOE_CHECK(lc.rounds >= 0, "{}: must be >= 0, got {}", l.where("rounds"), lc.rounds);
    MOE_CHECK(lc.prune_fraction > 0 && lc.prune_fraction < 1, "{}: must be in (0, 1), got {}",
              l.where("prune_fraction"), lc.prune_fraction);
    MOE_CHECK(lc.rewind_step >= 0, "{}: must be >= 0, got {}", l.where("rewind_step"), lc.rewind_step);
    l.finish();
  }
  r.finish();
  return c;
}

nlohmann::json LotteryRunConfig::to_json() const {
  const LotteryDataConfig& d = data;
  const LotteryTrainConfig& t = train;
  const LotteryConfig& l = lottery;
  nlohmann::json dj = {{"kind", d.kind}, {"train", d.train}, {"test", d.test}};
  if (d.kind == "fashion-mnist") dj["dir"] = d.dir;
  else dj["noise"] = d.noise, dj["seed"] = d.seed;
  return {{"model", model.to_json()},
          {"data", dj},
          {"train",
           {{"epochs", t.epochs}, {"batch_size", t.batch_size}, {"lr", t.lr}, {"min_lr", t.min_lr},
            {"warmup_steps", t.warmup_steps}, {"weight_decay", t.weight_decay}, {"clip", t.clip}, {"seed", t.seed},
            {"eval_batch", t.eval_batch}}},
          {"lottery",
           {{"rounds", l.rounds}, {"prune_fraction", l.prune_fraction}, {"rewind_step", l.rewind_step},
            {"prune_patch_embed", l.prune_patch_embed}, {"reinit_control", l.reinit_control},
            {"sensitivity", l.sensitivity}}}};
}

ImageSplit make_synthetic_images(int64_t n, int64_t classes, int64_t image_size, double noise, Rng& rng) {
  MOE_CHECK(n >= 1 && classes >= 2 && image_size >= 1, "make_synthetic_images: need n >= 1, classes >= 2, "
            "image_size >= 1, got {}, {}, {}", n, classes, image_size);
  const int64_t S = image_size, P = S * S;
  // Class templates: a few Gaussian blobs at random places, so patches differ by class.
  std::vector<float> templates(static_cast<size_t>(classes * P), 0.0f);
  for (int64_t c = 0; c < classes; ++c)
    for (int blob = 0; blob < 3; ++blob) {
      const double cy = rng.uniform() * S, cx = rng.uniform() * S, r = 1.0 + rng.uniform() * S / 6.0;
      for (int64_t y = 0; y < S; ++y)
        for (int64_t x = 0; x < S; ++x)
          templates[c * P + y * S + x] +=
              static_cast<float>(std::exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * r * r)));
    }
  std::vector<float> pixels(static_cast<size_t>(n * P));
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = i % classes;
    for (int64_t p = 0; p < P; ++p)
      pixels[i * P + p] = templates[labels[i] * P + p] + static_cast<float>(noise * rng.normal());
  }
  return {Tensor::from_vector(pixels, {n, S, S}), Tensor::from_vector(labels, {n})};
}

LotteryData load_lottery_data(const LotteryRunConfig& run) {
  const LotteryDataConfig& d = run.data;
  const models::ViTConfig& m = run.model;
  LotteryData out;
  if (d.kind == "fashion-mnist") {
    MOE_CHECK(m.channels == 1 && m.image_size == 28 && m.classes == 10, "lottery data: Fashion-MNIST is 1 x 28 x 28 "
              "with 10 classes; the model has channels {}, image_size {}, classes {}", m.channels, m.image_size,
              m.classes);
    const data::ImageDatasetFiles f = data::resolve_image_dataset("fashion-mnist", "data/mnist", d.dir);
    data::ImageDataset train = data::load_image_dataset(f.train_images, f.train_labels, d.train);
    data::ImageDataset test = data::load_image_dataset(f.test_images, f.test_labels, d.test);
    // Standardised with the training set's pixel mean and std (0.2860, 0.3530 over all
    // 60,000 Fashion-MNIST training images), as torchvision examples do.
    auto standardise = [](const Tensor& x) { return mul(add(x, -0.2860), 1.0 / 0.3530); };
    out.train = {standardise(train.images), train.labels};
    out.test = {standardise(test.images), test.labels};
    return out;
  }
  MOE_CHECK(d.kind == "synthetic", "lottery data: unknown kind '{}'", d.kind);
  Rng rng(d.seed);
  MOE_CHECK(m.channels == 1, "lottery data: synthetic images have 1 channel, model.channels is {}", m.channels);
  ImageSplit all = make_synthetic_images(d.train + d.test, m.classes, m.image_size, d.noise, rng);
  out.train = {all.images.slice(0, 0, d.train).contiguous(), all.labels.slice(0, 0, d.train).contiguous()};
  out.test = {all.images.slice(0, d.train, d.train + d.test).contiguous(),
              all.labels.slice(0, d.train, d.train + d.test).contiguous()};
  return out;
}

double evaluate_vit(models::ViT& model, const ImageSplit& data, int64_t batch) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  int64_t correct = 0;
  for (int64_t s = 0; s < data.size(); s += batch) {
    const int64_t e = std::min(data.size(), s + batch);
    Tensor pred = argmax(model.forward(data.images.slice(0, s, e)), -1);
    correct += static_cast<int64_t>(sum(eq(pred, data.labels.slice(0, s, e)).to(DType::f64), {0}).item());
  }
  model.train(was_training);
  return data.size() ? static_cast<double>(correct) / static_cast<double>(data.size()) : 0.0;
}

nlohmann::json LotteryRound::to_json() const {
  nlohmann::json j = {{"round", round}, {"sparsity", sparsity}, {"density", 1.0 - sparsity},
                      {"ticket_accuracy", ticket_accuracy}, {"component_sparsity", component_sparsity},
                      {"seconds", seconds}};
  if (reinit_accuracy >= 0) j["reinit_accuracy"] = reinit_accuracy;
  if (oneshot_global_accuracy >= 0) {
    j["oneshot_global_accuracy"] = oneshot_global_accuracy;
    j["oneshot_attention_only_accuracy"] = oneshot_attention_accuracy;
    j["oneshot_mlp_only_accuracy"] = oneshot_mlp_accuracy;
  }
  return j;
}

namespace {

// The example order of epoch `epoch`: a Fisher-Yates shuffle from its own generator, so
// the batch at step s is the same in every round (a rewound run replays steps k..T-1).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  Rng rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.randint(0, i + 1)]);
  return order;
}

struct Span {
  int64_t first = 0, end = 0;   // optimizer steps [first, end) of the schedule
  int64_t snapshot_at = -1;     // take a snapshot after this many steps (-1: none)
  std::string label;
};

// Trains steps [first, end) of the run's schedule; with a pruner, gradients are masked
// before and weights after every step. Returns the snapshot when one was asked for.
std::optional<sparse::WeightSnapshot> train_span(models::ViT& model, const sparse::MagnitudePruner* pruner,
                                                 const ImageSplit& train, const LotteryTrainConfig& tc,
                                                 int64_t total_steps, const Span& span, bool quiet) {
  const int64_t B = tc.batch_size, per_epoch = train.size() / B;
  optim::AdamW opt(model.named_parameters(), {.lr = tc.lr, .weight_decay = tc.weight_decay});
  const optim::LrSchedule schedule =
      optim::LrSchedule::warmup_cosine(tc.lr, tc.min_lr, std::min(tc.warmup_steps, total_steps), total_steps);
  std::optional<sparse::WeightSnapshot> snapshot;
  if (span.snapshot_at == span.first) snapshot = sparse::WeightSnapshot::take(model);
  const std::vector<int64_t> labels = train.labels.to_vector<int64_t>();
  std::vector<int64_t> order;
  int64_t order_epoch = -1;
  double loss_sum = 0;
  int64_t loss_n = 0;
  const int64_t log_every = std::max<int64_t>(1, per_epoch / 4);
  model.train();
  for (int64_t step = span.first; step < span.end; ++step) {
    const int64_t epoch = step / per_epoch, pos = step % per_epoch;
    if (epoch != order_epoch) order = epoch_order(train.size(), tc.seed, epoch), order_epoch = epoch;
    std::vector<int64_t> rows(order.begin() + pos * B, order.begin() + (pos + 1) * B), targets(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) targets[i] = labels[rows[i]];
    opt.zero_grad();
    Tensor loss = cross_entropy(model.forward(index_select(train.images, 0, Tensor::from_vector(rows, {B}))),
                                Tensor::from_vector(targets, {B}));
    loss.backward();
    if (pruner) pruner->mask_gradients();
    if (tc.clip > 0) optim::clip_grad_norm(opt.params(), tc.clip);
    opt.set_lr(schedule.lr(step));
    opt.step();
    if (pruner) pruner->apply_masks();
    const double l = loss.item();
    MOE_CHECK(std::isfinite(l), "lottery ({}): loss is {} at step {}", span.label, l, step);
    loss_sum += l, ++loss_n;
    if (step + 1 == span.snapshot_at) snapshot = sparse::WeightSnapshot::take(model);
    if (!quiet && ((step + 1) % log_every == 0 || step + 1 == span.end)) {
      fmt::print("  {} step {:5d}/{}  loss {:.4f}\n", span.label, step + 1, total_steps, loss_sum / loss_n);
      std::fflush(stdout);
      loss_sum = 0, loss_n = 0;
    }
  }
  return snapshot;
}

// Accuracy of the trained dense `model` pruned one-shot by `prune`, weights restored after.
double oneshot_accuracy(models::ViT& model, const LotteryRunConfig& run, const ImageSplit& test,
                        const std::function<void(sparse::MagnitudePruner&)>& prune) {
  const sparse::WeightSnapshot trained = sparse::WeightSnapshot::take(model);
  sparse::MagnitudePruner pruner(sparse::vit_prunable_parameters(model, run.lottery.prune_patch_embed));
  prune(pruner);
  const double acc = evaluate_vit(model, test, run.train.eval_batch);
  trained.restore(model);
  return acc;
}

}  // namespace

void write_lottery_plots(const std::string& out_dir, const std::vector<LotteryRound>& rounds) {
  PlotSeries ticket{"ticket (rewound)", {}, {}}, reinit{"random re-init, same mask", {}, {}};
  PlotSeries global{"global", {}, {}}, attention{"attention only", {}, {}}, mlp{"MLP only", {}, {}};
  for (const LotteryRound& r : rounds) {
    ticket.x.push_back(r.sparsity), ticket.y.push_back(r.ticket_accuracy);
    if (r.reinit_accuracy >= 0) reinit.x.push_back(r.sparsity), reinit.y.push_back(r.reinit_accuracy);
    if (r.oneshot_global_accuracy >= 0) {
      for (PlotSeries* p : {&global, &attention, &mlp}) p->x.push_back(r.sparsity);
      global.y.push_back(r.oneshot_global_accuracy);
      attention.y.push_back(r.oneshot_attention_accuracy);
      mlp.y.push_back(r.oneshot_mlp_accuracy);
    }
  }
  std::vector<PlotRefLine> dense;
  if (!rounds.empty()) dense.push_back({rounds.front().ticket_accuracy, "dense"});
  LineChart chart;
  chart.title = "Lottery tickets on a ViT: test accuracy vs sparsity";
  chart.x_label = "sparsity of the attention + MLP weights";
  chart.y_label = "test accuracy";
  chart.series.push_back(ticket);
  if (!reinit.x.empty()) chart.series.push_back(reinit);
  chart.ref_lines = dense;
  io::write_file_atomic(out_dir + "/accuracy_vs_sparsity.svg", render_svg(chart));
  if (global.x.empty()) return;
  LineChart sens;
  sens.title = "One-shot pruning of the trained dense ViT, no retraining";
  sens.x_label = "sparsity of the pruned weights (global: attention + MLP; else that component's)";
  sens.y_label = "test accuracy";
  sens.series = {global, attention, mlp};
  sens.ref_lines = dense;
  io::write_file_atomic(out_dir + "/oneshot_sensitivity.svg", render_svg(sens));
}

std::vector<LotteryRound> read_lottery_rounds(const std::string& metrics_path) {
  std::vector<LotteryRound> out;
  for (const nlohmann::json& j : read_metrics(metrics_path)) {
    try {
      LotteryRound r;
      r.round = j.at("round").get<int64_t>();
      r.sparsity = j.at("sparsity").get<double>();
      r.ticket_accuracy = j.at("ticket_accuracy").get<double>();
      r.reinit_accuracy = j.value("reinit_accuracy", -1.0);
      r.component_sparsity = j.at("component_sparsity").get<std::map<std::string, double>>();
      r.oneshot_global_accuracy = j.value("oneshot_global_accuracy", -1.0);
      r.oneshot_attention_accuracy = j.value("oneshot_attention_only_accuracy", -1.0);
      r.oneshot_mlp_accuracy = j.value("oneshot_mlp_only_accuracy", -1.0);
      r.seconds = j.value("seconds", 0.0);
      out.push_back(r);
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: record {} is not a lottery round: {}", metrics_path, out.size() + 1, e.what()));
    }
  }
  return out;
}

std::vector<LotteryRound> run_lottery(const LotteryOptions& o) {
  MOE_CHECK(!o.out_dir.empty(), "lottery: --out DIR is required");
  MOE_CHECK(!o.config_path.empty(), "lottery: --config FILE is required");
  LotteryRunConfig run = LotteryRunConfig::parse_text(io::read_file(o.config_path), o.config_path);
  if (o.rounds) {
    MOE_CHECK(*o.rounds >= 0, "lottery: --rounds must be >= 0, got {}", *o.rounds);
    run.lottery.rounds = *o.rounds;
  }
  const LotteryTrainConfig& tc = run.train;
  const LotteryConfig& lc = run.lottery;
  const LotteryData data = load_lottery_data(run);
  const int64_t per_epoch = data.train.size() / tc.batch_size, T = tc.epochs * per_epoch;
  MOE_CHECK(per_epoch >= 1, "lottery: {} training images make no batch of {}", data.train.size(), tc.batch_size);
  MOE_CHECK(lc.rewind_step < T, "lottery: rewind_step {} must be below the {} training steps", lc.rewind_step, T);
  std::filesystem::create_directories(o.out_dir);
  io::write_file_atomic(o.out_dir + "/config.json", run.to_json().dump(2));
  MetricsLog log(o.out_dir);

  Rng rng(tc.seed);
  models::ViT model(run.model, rng);
  sparse::MagnitudePruner pruner(sparse::vit_prunable_parameters(model, lc.prune_patch_embed));
  if (!o.quiet)
    fmt::print("lottery: ViT d_model {} heads {} layers {} d_ff {} patch {} ({} parameters, {} prunable); "
               "{} train / {} test images; {} steps per round ({} epochs of {}), rewind to step {}; {} rounds\n",
               run.model.d_model, run.model.heads, run.model.layers, run.model.d_ff, run.model.patch_size,
               model.num_parameters(), pruner.total(), data.train.size(), data.test.size(), T, tc.epochs, per_epoch,
               lc.rewind_step, lc.rounds);

  std::vector<LotteryRound> rounds;
  auto finish_round = [&](LotteryRound& r, std::chrono::steady_clock::time_point t0) {
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log.write(r.to_json());
    rounds.push_back(r);
    write_lottery_plots(o.out_dir, rounds);
    if (!o.quiet) {
      fmt::print("round {}: sparsity {:.4f}  ticket {:.4f}", r.round, r.sparsity, r.ticket_accuracy);
      if (r.reinit_accuracy >= 0) fmt::print("  random re-init {:.4f}", r.reinit_accuracy);
      if (r.oneshot_global_accuracy >= 0)
        fmt::print("  one-shot: global {:.4f} attention-only {:.4f} mlp-only {:.4f}", r.oneshot_global_accuracy,
                   r.oneshot_attention_accuracy, r.oneshot_mlp_accuracy);
      fmt::print("  ({:.0f} s)\n", r.seconds);
      std::fflush(stdout);
    }
  };

  // Round 0: the dense network, and theta_k.
  auto t0 = std::chrono::steady_clock::now();
  std::optional<sparse::WeightSnapshot> rewind =
      train_span(model, nullptr, data.train, tc, T, {0, T, lc.rewind_step, "dense"}, o.quiet);
  LotteryRound dense;
  dense.ticket_accuracy = evaluate_vit(model, data.test, tc.eval_batch);
  dense.component_sparsity = pruner.component_sparsity();
  // One-shot sensitivity of the trained dense network at every round's sparsity.
  std::vector<std::array<double, 3>> oneshot;
  if (lc.sensitivity) {
    double keep = 1.0;
    for (int64_t r = 1; r <= lc.rounds; ++r) {
      keep *= 1.0 - lc.prune_fraction;
      const double s = 1.0 - keep;
      oneshot.push_back({oneshot_accuracy(model, run, data.test,
                                          [&](sparse::MagnitudePruner& p) {
                                            p.prune_smallest(std::llround(s * static_cast<double>(p.total())));
                                          }),
                         oneshot_accuracy(model, run, data.test,
                                          [&](sparse::MagnitudePruner& p) { p.prune_component_to("attention", s); }),
                         oneshot_accuracy(model, run, data.test,
                                          [&](sparse::MagnitudePruner& p) { p.prune_component_to("mlp", s); })});
    }
  }
  finish_round(dense, t0);

  for (int64_t r = 1; r <= lc.rounds; ++r) {
    t0 = std::chrono::steady_clock::now();
    pruner.prune_global(lc.prune_fraction);  // by the magnitudes the last round trained
    rewind->restore(model);
    pruner.apply_masks();
    train_span(model, &pruner, data.train, tc, T, {lc.rewind_step, T, -1, fmt::format("ticket r{}", r)}, o.quiet);
    LotteryRound res;
    res.round = r;
    res.sparsity = pruner.sparsity();
    res.component_sparsity = pruner.component_sparsity();
    res.ticket_accuracy = evaluate_vit(model, data.test, tc.eval_batch);
    if (lc.reinit_control) {
      Rng fresh(tc.seed + 7919ULL * static_cast<uint64_t>(r));
      models::ViT control(run.model, fresh);
      sparse::MagnitudePruner control_masks =
          pruner.with_tensors(sparse::vit_prunable_parameters(control, lc.prune_patch_embed));
      control_masks.apply_masks();
      train_span(control, &control_masks, data.train, tc, T, {0, T, -1, fmt::format("re-init r{}", r)}, o.quiet);
      res.reinit_accuracy = evaluate_vit(control, data.test, tc.eval_batch);
    }
    if (lc.sensitivity) {
      res.oneshot_global_accuracy = oneshot[r - 1][0];
      res.oneshot_attention_accuracy = oneshot[r - 1][1];
      res.oneshot_mlp_accuracy = oneshot[r - 1][2];
    }
    finish_round(res, t0);
  }
  return rounds;
}

}  // namespace moe::train
