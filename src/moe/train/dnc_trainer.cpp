// train/dnc_trainer.cpp: copy-task config parsing, the training loop, evaluation by
// length and checkpoint loading for the DNC and its LSTM baseline.
#include "moe/train/dnc_trainer.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "moe/autograd/autograd.h"
#include "moe/io/atomic_file.h"
#include "moe/io/checkpoint.h"
#include "moe/ops/bce_loss.h"
#include "moe/optim/adam.h"
#include "moe/optim/clip.h"
#include "moe/train/metrics_log.h"
#include "moe/train/progress.h"

namespace moe::train {

namespace fs = std::filesystem;

namespace {

int64_t positive(io::ConfigReader& r, const std::string& key, int64_t fallback) {
  const int64_t v = r.get<int64_t>(key, fallback);
  MOE_CHECK(v > 0, "{}: must be positive, got {}", r.where(key), v);
  return v;
}

std::string tokenizer_json(const CopyExperiment& e) {
  return nlohmann::json{{"kind", "copy_task"}, {"bits", e.task.bits}}.dump();
}

}  // namespace

CopyExperiment CopyExperiment::parse_text(const std::string& text, const std::string& origin) {
  io::ConfigReader root = io::ConfigReader::from_string(text, origin);
  CopyExperiment e;
  {
    io::ConfigReader m = root.child("model");
    e.model = models::dnc::SequenceModelConfig::from_config(m);
  }
  if (root.has("task")) {
    io::ConfigReader t = root.child("task");
    e.task.bits = positive(t, "bits", e.task.bits);
    e.task.min_length = positive(t, "min_length", e.task.min_length);
    e.task.max_length = positive(t, "max_length", e.task.max_length);
    MOE_CHECK(e.task.min_length <= e.task.max_length, "{}: {} is below min_length {}", t.where("max_length"),
              e.task.max_length, e.task.min_length);
    t.finish();
  }
  if (root.has("train")) {
    io::ConfigReader t = root.child("train");
    CopyTrainConfig& c = e.train;
    c.steps = positive(t, "steps", c.steps);
    c.batch = positive(t, "batch", c.batch);
    c.lr = t.get<double>("lr", c.lr);
    MOE_CHECK(c.lr > 0 && std::isfinite(c.lr), "{}: must be a positive number, got {}", t.where("lr"), c.lr);
    c.grad_clip = t.get<double>("grad_clip", c.grad_clip);
    MOE_CHECK(c.grad_clip >= 0, "{}: must be >= 0 (0 = off), got {}", t.where("grad_clip"), c.grad_clip);
    c.seed = t.get<uint64_t>("seed", c.seed);
    c.curriculum_steps = t.get<int64_t>("curriculum_steps", c.curriculum_steps);
    MOE_CHECK(c.curriculum_steps >= 0, "{}: must be >= 0, got {}", t.where("curriculum_steps"), c.curriculum_steps);
    c.log_every = positive(t, "log_every", c.log_every);
    c.eval_every = t.get<int64_t>("eval_every", c.eval_every);
    MOE_CHECK(c.eval_every >= 0, "{}: must be >= 0 (0 = only at the end), got {}", t.where("eval_every"),
              c.eval_every);
    c.eval_lengths = t.get<std::vector<int64_t>>("eval_lengths", c.eval_lengths);
    for (int64_t L : c.eval_lengths)
      MOE_CHECK(L > 0, "{}: lengths must be positive, got {}", t.where("eval_lengths"), L);
    c.eval_batches = positive(t, "eval_batches", c.eval_batches);
    c.eval_batch = positive(t, "eval_batch", c.eval_batch);
    t.finish();
  }
  e.out = root.get<std::string>("out", e.out);
  root.finish();
  return e;
}

CopyExperiment CopyExperiment::parse_file(const std::string& path) { return parse_text(io::read_file(path), path); }

std::unique_ptr<models::dnc::SequenceModel> make_copy_model(const CopyExperiment& e, Rng& rng, DType dtype) {
  return models::dnc::make_sequence_model(e.model, e.task.bits + 1, e.task.bits, rng, dtype);
}

int64_t curriculum_max_length(const CopyExperiment& e, int64_t step) {
  const int64_t lo = e.task.min_length, hi = e.task.max_length, ramp = e.train.curriculum_steps;
  if (ramp <= 0 || step >= ramp) return hi;
  return lo + (hi - lo) * step / ramp;
}

CopyScore evaluate_copy(const models::dnc::SequenceModel& model, int64_t bits, int64_t length, int64_t batches,
                        int64_t batch, uint64_t seed) {
  NoGradGuard no_grad;
  Rng rng(seed * 1000003ULL + static_cast<uint64_t>(length));
  CopyScore s;
  s.length = length;
  for (int64_t i = 0; i < batches; ++i) {
    const data::CopyBatch b = data::make_copy_batch(bits, length, batch, rng);
    const Tensor logits = model.forward(b.inputs);
    s.loss += bce_with_logits(logits, b.targets, b.mask).item();
    s.bit_error_rate += data::bit_error_rate(logits, b);
  }
  s.loss /= static_cast<double>(batches);
  s.bit_error_rate /= static_cast<double>(batches);
  return s;
}

CopyTrainResult train_copy(const CopyTrainOptions& options) {
  MOE_CHECK(!options.config_path.empty(), "dnc: --config is required to train");
  const std::string text = io::read_file(options.config_path);
  return train_copy(CopyExperiment::parse_text(text, options.config_path), options, text);
}

CopyTrainResult train_copy(const CopyExperiment& experiment, const CopyTrainOptions& o, const std::string& config_text) {
  CopyExperiment e = experiment;
  if (o.steps) {
    MOE_CHECK(*o.steps > 0, "dnc: --steps must be positive, got {}", *o.steps);
    e.train.steps = *o.steps;
  }
  if (o.seed) e.train.seed = *o.seed;
  const std::string out_dir = o.out_dir.empty() ? e.out : o.out_dir;
  const CopyTrainConfig& tc = e.train;
  Rng rng(tc.seed);
  std::unique_ptr<models::dnc::SequenceModel> model = make_copy_model(e, rng);
  optim::AdamOptions adam;
  adam.lr = tc.lr;
  optim::AdamW opt(model->named_parameters(), adam);

  fs::create_directories(out_dir);
  MetricsLog metrics(out_dir);
  const std::string ckpt_dir = out_dir + "/checkpoint";
  auto save = [&](int64_t step, const std::vector<CopyScore>& scores) {
    io::CheckpointData d;
    d.config_json = config_text;
    d.tokenizer_json = tokenizer_json(e);
    d.step = step;
    d.rng_seed = rng.seed();
    d.rng_offset = rng.offset();
    nlohmann::json eval = nlohmann::json::array();
    for (const CopyScore& s : scores)
      eval.push_back({{"length", s.length}, {"loss", s.loss}, {"bit_error_rate", s.bit_error_rate}});
    d.extra = {{"steps_trained", step}, {"eval", eval}};
    io::save_checkpoint(ckpt_dir, d, model->named_parameters(), &opt.state_dict());
  };
  auto evaluate_all = [&](int64_t step) {
    std::vector<CopyScore> scores;
    for (int64_t L : tc.eval_lengths) {
      scores.push_back(evaluate_copy(*model, e.task.bits, L, tc.eval_batches, tc.eval_batch, tc.seed));
      metrics.write({{"step", step},
                     {"split", "eval"},
                     {"length", L},
                     {"loss", scores.back().loss},
                     {"bit_error_rate", scores.back().bit_error_rate}});
    }
    return scores;
  };

  std::unique_ptr<ProgressReporter> progress;
  if (!o.quiet) {
    fmt::print("{}: {} parameters; copy task {} bits, lengths {}..{}; {} steps of batch {}\n", e.model.kind,
               model->num_parameters(), e.task.bits, e.task.min_length, e.task.max_length, tc.steps, tc.batch);
    progress = std::make_unique<ProgressReporter>(stdout, isatty(fileno(stdout)) != 0, tc.steps, tc.log_every);
  }
  CopyTrainResult result;
  double window_loss = 0, window_ber = 0;
  int64_t window_steps = 0;
  bool first_window = true;
  auto window_start = std::chrono::steady_clock::now();
  for (int64_t step = 1; step <= tc.steps; ++step) {
    const int64_t max_len = curriculum_max_length(e, step - 1);
    const int64_t length = rng.randint(e.task.min_length, max_len + 1);
    const data::CopyBatch b = data::make_copy_batch(e.task.bits, length, tc.batch, rng);
    opt.zero_grad();
    const Tensor logits = model->forward(b.inputs);
    const Tensor loss = bce_with_logits(logits, b.targets, b.mask);
    const double loss_value = loss.item();
    MOE_CHECK(std::isfinite(loss_value), "dnc: step {}: the loss is {} (diverged; lower lr or grad_clip)", step,
              loss_value);
    loss.backward();
    if (auto bad = optim::check_finite_and_clip(opt.params(), tc.grad_clip))
      throw Error(fmt::format("dnc: step {}: the gradient of {} has NaN or Inf", step, *bad));
    opt.step();
    window_loss += loss_value;
    window_ber += data::bit_error_rate(logits.detach(), b);
    ++window_steps;
    if (progress) progress->update(step, loss_value, b.inputs.size(0) * tc.batch);

    if (step % tc.log_every == 0 || step == tc.steps) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      const double mean_loss = window_loss / static_cast<double>(window_steps);
      if (first_window) result.first_loss = mean_loss, first_window = false;
      result.final_loss = mean_loss;
      metrics.write({{"step", step},
                     {"split", "train"},
                     {"loss", mean_loss},
                     {"bit_error_rate", window_ber / static_cast<double>(window_steps)},
                     {"max_length", max_len},
                     {"steps_per_s", secs > 0 ? static_cast<double>(window_steps) / secs : 0.0}});
      window_loss = 0, window_ber = 0, window_steps = 0;
      window_start = std::chrono::steady_clock::now();
    }
    const bool last = step == tc.steps;
    if ((tc.eval_every > 0 && step % tc.eval_every == 0) || last) {
      std::vector<CopyScore> scores = evaluate_all(step);
      if (progress) {
        std::string line = fmt::format("step {}: bit error rate by length:", step);
        for (const CopyScore& s : scores) line += fmt::format(" {}: {:.4f}", s.length, s.bit_error_rate);
        progress->message(line);
      }
      save(step, scores);
      if (last) result.eval = std::move(scores);
    }
  }
  if (progress) progress->finish();
  result.steps = tc.steps;
  result.checkpoint_dir = ckpt_dir;
  if (!o.quiet) fmt::print("checkpoint: {}\n", ckpt_dir);
  return result;
}

LoadedCopyModel load_copy_model(const std::string& dir) {
  std::string ckpt = dir;
  if (!fs::exists(fs::path(dir) / "state.json") && fs::exists(fs::path(dir) / "checkpoint" / "state.json"))
    ckpt = (fs::path(dir) / "checkpoint").string();
  const io::CheckpointData meta = io::read_checkpoint_meta(ckpt);
  LoadedCopyModel loaded;
  loaded.experiment = CopyExperiment::parse_text(meta.config_json, ckpt + "/config.json");
  Rng rng(loaded.experiment.train.seed);
  loaded.model = make_copy_model(loaded.experiment, rng);
  io::load_params(ckpt, loaded.model->named_parameters());
  loaded.step = meta.step;
  loaded.checkpoint_dir = ckpt;
  return loaded;
}

}  // namespace moe::train
