// train/lm_trainer.cpp: the training loop of language models.
#include "moe/train/lm_trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "moe/autograd/autograd.h"
#include "moe/data/text_dataset.h"
#include "moe/io/atomic_file.h"
#include "moe/io/checkpoint.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/loss.h"
#include "moe/optim/adam.h"
#include "moe/optim/clip.h"
#include "moe/optim/schedule.h"
#include "moe/train/collapse_monitor.h"
#include "moe/train/metrics_log.h"
#include "moe/train/progress.h"

namespace moe::train {

TrainConfig TrainConfig::parse(io::ConfigReader& r) {
  TrainConfig c;
  c.batch_size = r.get<int64_t>("batch_size", c.batch_size);
  c.steps = r.get<int64_t>("steps", c.steps);
  c.lr = r.get<double>("lr", c.lr);
  c.min_lr = r.get<double>("min_lr", c.min_lr);
  c.warmup = r.get<int64_t>("warmup", c.warmup);
  c.weight_decay = r.get<double>("weight_decay", c.weight_decay);
  c.beta1 = r.get<double>("beta1", c.beta1);
  c.beta2 = r.get<double>("beta2", c.beta2);
  c.grad_clip = r.get<double>("grad_clip", c.grad_clip);
  c.log_every = r.get<int64_t>("log_every", c.log_every);
  c.eval_every = r.get<int64_t>("eval_every", c.eval_every);
  c.eval_batches = r.get<int64_t>("eval_batches", c.eval_batches);
  c.checkpoint_every = r.get<int64_t>("checkpoint_every", c.checkpoint_every);
  c.seed = r.get<uint64_t>("seed", c.seed);
  for (auto [key, v] : {std::pair{"batch_size", c.batch_size}, {"steps", c.steps}, {"log_every", c.log_every},
                        {"eval_every", c.eval_every}, {"eval_batches", c.eval_batches},
                        {"checkpoint_every", c.checkpoint_every}})
    MOE_CHECK(v >= 1, "{}: must be >= 1, got {}", r.where(key), v);
  MOE_CHECK(c.lr > 0 && c.min_lr >= 0 && c.min_lr <= c.lr, "{}: need 0 <= min_lr <= lr and lr > 0 (lr {}, min_lr {})",
            r.where("lr"), c.lr, c.min_lr);
  MOE_CHECK(c.warmup >= 0, "{}: must be >= 0, got {}", r.where("warmup"), c.warmup);
  MOE_CHECK(c.grad_clip >= 0, "{}: must be >= 0, got {}", r.where("grad_clip"), c.grad_clip);
  r.finish();
  return c;
}

nlohmann::json TrainConfig::to_json() const {
  return {{"batch_size", batch_size}, {"steps", steps},       {"lr", lr},
          {"min_lr", min_lr},         {"warmup", warmup},     {"weight_decay", weight_decay},
          {"beta1", beta1},           {"beta2", beta2},       {"grad_clip", grad_clip},
          {"log_every", log_every},   {"eval_every", eval_every}, {"eval_batches", eval_batches},
          {"checkpoint_every", checkpoint_every}, {"seed", seed}};
}

RunConfig RunConfig::parse_text(const std::string& text, const std::string& origin) {
  io::ConfigReader r = io::ConfigReader::from_string(text, origin);
  RunConfig c;
  io::ConfigReader m = r.child("model");
  c.model = models::LMConfig::parse(m);
  if (r.has("train")) {
    io::ConfigReader t = r.child("train");
    c.train = TrainConfig::parse(t);
  }
  if (r.has("tokenizer")) {
    io::ConfigReader t = r.child("tokenizer");
    c.tokenizer = data::TokenizerSpec::parse(t);
  }
  r.finish();
  return c;
}

RunConfig RunConfig::parse_file(const std::string& path) { return parse_text(io::read_file(path), path); }

nlohmann::json RunConfig::to_json() const {
  return {{"model", model.to_json()}, {"train", train.to_json()}, {"tokenizer", tokenizer.to_json()}};
}

EvalResult evaluate_lm(models::TransformerLM& model, const std::vector<int64_t>& tokens, int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const int64_t T = model.config().context, V = model.config().vocab_size;
  double total = 0;
  int64_t count = 0;
  for (const data::Batch& b : data::eval_windows(tokens, T, batch_size)) {
    Tensor logits = model.forward(b.inputs);
    const int64_t n = b.targets.numel();
    total += cross_entropy(logits.reshape({-1, V}), b.targets.reshape({-1})).item() * static_cast<double>(n);
    count += n;
  }
  model.train(was_training);
  MOE_CHECK(count > 0, "eval: the text is shorter than one window of context + 1 = {} tokens", T + 1);
  return {total / static_cast<double>(count), count};
}

namespace {

// Mean validation loss over `batches` windows drawn by a fixed generator (the same
// windows at every evaluation, and the training generator untouched).
double validation_loss(models::TransformerLM& model, const data::TextDataset& ds, int64_t batch, int64_t batches,
                       uint64_t seed) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Rng rng(seed ^ 0x5EEDF00Dull);
  const int64_t T = model.config().context, V = model.config().vocab_size;
  double total = 0;
  for (int64_t i = 0; i < batches; ++i) {
    data::Batch b = ds.sample_batch(data::Split::validation, batch, T, rng);
    total += cross_entropy(model.forward(b.inputs).reshape({-1, V}), b.targets.reshape({-1})).item();
  }
  model.train(was_training);
  return total / static_cast<double>(batches);
}

nlohmann::json layer_stats_json(const models::TransformerLM& model) {
  nlohmann::json layers = nlohmann::json::array();
  for (const RoutingStats& s : model.layer_stats()) {
    layers.push_back({{"tokens_per_expert", s.tokens_per_expert}, {"dropped", s.dropped},
                      {"tokens_unrouted", s.tokens_unrouted}, {"aux_losses", s.aux_losses},
                      {"load_cv", s.load_cv}, {"router_entropy", s.router_entropy}});
  }
  return layers;
}

nlohmann::json router_biases(const models::TransformerLM& model) {
  nlohmann::json out = nlohmann::json::array();
  for (Router* r : model.routers()) out.push_back(r->expert_bias());
  return out;
}

void restore_router_biases(models::TransformerLM& model, const nlohmann::json& biases, const std::string& dir) {
  auto routers = model.routers();
  MOE_CHECK(biases.is_array() && biases.size() == routers.size(), "{}/state.json: router_bias has {} routers, model {}",
            dir, biases.is_array() ? biases.size() : 0, routers.size());
  for (size_t i = 0; i < routers.size(); ++i) routers[i]->set_expert_bias(biases[i].get<std::vector<double>>());
}

}  // namespace

TrainResult train_lm(const TrainOptions& o) {
  namespace fs = std::filesystem;
  MOE_CHECK(!o.out_dir.empty(), "train: an output directory is required (--out DIR)");
  MOE_CHECK(!o.data_path.empty(), "train: a training text is required (--data FILE)");
  RunConfig run;
  std::string tokenizer_json;
  io::CheckpointData resume;
  if (!o.resume_dir.empty()) {
    resume = io::read_checkpoint_meta(o.resume_dir);
    run = RunConfig::parse_text(resume.config_json, o.resume_dir + "/config.json");
    tokenizer_json = resume.tokenizer_json;
  } else {
    MOE_CHECK(!o.config_path.empty(), "train: a config is required (--config FILE), or --resume DIR");
    run = RunConfig::parse_file(o.config_path);
  }
  if (o.steps) run.train.steps = *o.steps;
  if (o.seed && o.resume_dir.empty()) run.train.seed = *o.seed;
  if (run.train.warmup > run.train.steps) {  // e.g. a short run of a long config: warm up over all of it
    if (!o.quiet) fmt::print("note: warmup {} > steps {}: warming up over all {} steps\n", run.train.warmup,
                             run.train.steps, run.train.steps);
    run.train.warmup = run.train.steps;
  }
  const TrainConfig& tc = run.train;

  const std::string text = data::read_text_file(o.data_path);
  std::unique_ptr<data::Tokenizer> tok;
  if (tokenizer_json.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    tok = data::build_tokenizer(run.tokenizer, text);
    if (!o.quiet && !run.tokenizer.file.empty())
      fmt::print("tokenizer: {} with {} pieces, from {}\n", tok->kind(), tok->vocab_size(), run.tokenizer.file);
    else if (!o.quiet && tok->kind() != "char")
      fmt::print("tokenizer: {} with {} pieces, trained on {} in {:.1f} s\n", tok->kind(), tok->vocab_size(),
                 o.data_path, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  } else {
    tok = data::tokenizer_from_json(tokenizer_json, o.resume_dir + "/tokenizer.json");
  }
  MOE_CHECK(tok->kind() == run.tokenizer.kind, "train: the config asks for a {} tokenizer, the checkpoint has {}",
            run.tokenizer.kind, tok->kind());
  tokenizer_json = tok->to_json();
  if (run.model.vocab_size == 0) run.model.vocab_size = tok->vocab_size();
  MOE_CHECK(run.model.vocab_size >= tok->vocab_size(), "train: model vocab_size {} is smaller than the tokenizer's {}",
            run.model.vocab_size, tok->vocab_size());
  data::TextDataset ds(tok->encode(text));

  Rng rng(tc.seed);
  models::TransformerLM model(run.model, rng);
  optim::AdamW opt(model.named_parameters(), {.lr = tc.lr, .beta1 = tc.beta1, .beta2 = tc.beta2, .eps = 1e-8,
                                              .weight_decay = tc.weight_decay});
  optim::LrSchedule schedule = optim::LrSchedule::warmup_cosine(tc.lr, tc.min_lr, tc.warmup, tc.steps);
  int64_t start = 0;
  if (!o.resume_dir.empty()) {
    io::load_params(o.resume_dir, model.named_parameters());
    io::load_optimizer_state(o.resume_dir, opt.state_dict());
    rng.set_state(resume.rng_seed, resume.rng_offset);
    if (resume.extra.contains("router_bias")) restore_router_biases(model, resume.extra["router_bias"], o.resume_dir);
    start = resume.step;
    MOE_CHECK(start < tc.steps, "train: the checkpoint is at step {}, nothing to do for {} steps (raise --steps)",
              start, tc.steps);
  }
  fs::create_directories(o.out_dir);
  const std::string config_text = run.to_json().dump(2);
  io::write_file_atomic(o.out_dir + "/config.json", config_text);
  MetricsLog metrics(o.out_dir);
  const std::string ckpt_dir = o.out_dir + "/checkpoint";
  auto save = [&](int64_t step) {
    io::CheckpointData d;
    d.config_json = config_text;
    d.tokenizer_json = tokenizer_json;
    d.step = step;
    d.rng_seed = rng.seed();
    d.rng_offset = rng.offset();
    d.extra = {{"router_bias", router_biases(model)}};
    auto state = opt.state_dict();
    io::save_checkpoint(ckpt_dir, d, model.named_parameters(), &state);
  };

  const int64_t B = tc.batch_size, T = run.model.context, V = run.model.vocab_size;
  std::unique_ptr<ProgressReporter> progress;
  if (!o.quiet) {
    fmt::print("model: {} parameters ({} active per token), vocab {}, context {}; data: {} {} tokens ({:.2f} bytes "
               "per token; {} train / {} validation)\n",
               model.num_parameters(), model.active_parameters_per_token(), V, T, ds.size(), tok->kind(),
               static_cast<double>(text.size()) / static_cast<double>(std::max<int64_t>(1, ds.size())),
               ds.train_size(), ds.size() - ds.train_size());
    progress = std::make_unique<ProgressReporter>(stdout, isatty(fileno(stdout)) != 0, tc.steps, tc.log_every, start);
  }
  TrainResult result;
  CollapseMonitor collapse;  // warns once per layer when its busiest expert takes > 90% for 50 steps
  double window_loss = 0;
  int64_t window_steps = 0;
  auto window_start = std::chrono::steady_clock::now();
  auto run_start = window_start;
  for (int64_t step = start + 1; step <= tc.steps; ++step) {
    opt.set_lr(schedule.lr(step - 1));
    data::Batch b = ds.sample_batch(data::Split::train, B, T, rng);
    opt.zero_grad();
    Tensor logits = model.forward(b.inputs, &rng);
    Tensor loss = cross_entropy(logits.reshape({-1, V}), b.targets.reshape({-1}));
    Tensor aux = model.aux_loss();
    Tensor total = aux.defined() ? add(loss, aux) : loss;
    const double loss_value = loss.item();
    MOE_CHECK(std::isfinite(loss_value), "train: step {}: the loss is {} (diverged; lower lr or raise grad_clip)", step,
              loss_value);
    total.backward();
    if (auto bad = optim::check_finite_and_clip(opt.params(), tc.grad_clip))
      throw Error(fmt::format("train: step {}: the gradient of {} has NaN or Inf", step, *bad));
    opt.step();
    window_loss += loss_value;
    ++window_steps;
    for (const std::string& warning : collapse.update(step, model.layer_stats())) {
      if (progress) progress->message(warning);
      else fmt::print(stderr, "{}\n", warning);
      metrics.write({{"step", step}, {"warning", warning}});
      result.warnings.push_back(warning);
    }
    if (progress) progress->update(step, loss_value, B * T);

    const bool do_eval = step % tc.eval_every == 0 || step == tc.steps;
    if (step % tc.log_every == 0 || do_eval) {
      auto now = std::chrono::steady_clock::now();
      const double secs = std::chrono::duration<double>(now - window_start).count();
      nlohmann::json rec = {{"step", step},
                            {"loss", window_loss / window_steps},
                            {"lr", schedule.lr(step - 1)},
                            {"tokens_per_s", secs > 0 ? window_steps * B * T / secs : 0.0},
                            {"layers", layer_stats_json(model)}};
      if (aux.defined()) rec["aux_loss"] = aux.item();
      result.final_loss = window_loss / window_steps;
      result.tokens_per_s = rec["tokens_per_s"];
      if (do_eval) {
        result.final_val_loss = validation_loss(model, ds, B, tc.eval_batches, tc.seed);
        rec["val_loss"] = result.final_val_loss;
        if (progress)
          progress->message(fmt::format("step {}: train loss {:.4f}, val loss {:.4f}", step, result.final_loss,
                                        result.final_val_loss));
      }
      metrics.write(rec);
      window_loss = 0, window_steps = 0;
      window_start = std::chrono::steady_clock::now();
    }
    const bool stop = o.stop_after && step == *o.stop_after;
    if (step % tc.checkpoint_every == 0 || step == tc.steps || stop) save(step);
    if (stop) {
      result.steps = step;
      break;
    }
  }
  if (progress) progress->finish();
  if (result.steps == 0) result.steps = tc.steps;
  result.checkpoint_dir = ckpt_dir;
  const double total_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  if (!o.quiet)
    fmt::print("done: {} steps in {:.1f} s, final train loss {:.4f}, val loss {:.4f}; checkpoint {}\n",
               result.steps - start, total_secs, result.final_loss, result.final_val_loss, ckpt_dir);
  return result;
}

}  // namespace moe::train
