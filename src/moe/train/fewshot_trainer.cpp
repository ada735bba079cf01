// train/fewshot_trainer.cpp: config reading, episode loss, the AdamW meta-training loop,
// the nearest-class-mean baselines and the per-setting evaluation (fewshot_trainer.h).
#include "moe/train/fewshot_trainer.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <cmath>
#include <filesystem>

#include "moe/autograd/autograd.h"
#include "moe/io/atomic_file.h"
#include "moe/io/checkpoint.h"
#include "moe/io/config.h"
#include "moe/ops/loss.h"
#include "moe/ops/reduce.h"
#include "moe/optim/adam.h"
#include "moe/optim/clip.h"
#include "moe/optim/schedule.h"
#include "moe/train/metrics_log.h"
#include "moe/train/progress.h"

namespace moe::train {

namespace {

std::vector<int64_t> positive_list(io::ConfigReader& r, const std::string& key, const std::vector<int64_t>& fallback) {
  std::vector<int64_t> v = r.get<std::vector<int64_t>>(key, fallback);
  MOE_CHECK(!v.empty(), "{}: must be a non-empty list", r.where(key));
  for (int64_t x : v) MOE_CHECK(x >= 1, "{}: entries must be >= 1, got {}", r.where(key), x);
  return v;
}

FewShotDataConfig read_data(io::ConfigReader r) {
  FewShotDataConfig d;
  d.dataset = r.get<std::string>("dataset", d.dataset);
  MOE_CHECK(d.dataset == "hershey" || d.dataset == "synthetic", "{}: must be \"hershey\" or \"synthetic\", got \"{}\"",
            r.where("dataset"), d.dataset);
  d.dir = r.get<std::string>("dir", d.dir);
  d.test_fonts = r.get<std::vector<std::string>>("test_fonts", d.test_fonts);
  d.test_fraction = r.get<double>("test_fraction", d.test_fraction);
  MOE_CHECK(d.test_fraction > 0 && d.test_fraction < 1, "{}: must be in (0, 1), got {}", r.where("test_fraction"),
            d.test_fraction);
  d.split_seed = r.get<uint64_t>("split_seed", d.split_seed);
  if (r.has("raster")) {
    io::ConfigReader x = r.child("raster");
    data::RasterOptions& o = d.raster;
    o.size = x.get<int64_t>("size", o.size);
    o.box = x.get<double>("box", o.box);
    o.min_extent = x.get<double>("min_extent", o.min_extent);
    o.jitter.rotation_deg = x.get<double>("rotation_deg", o.jitter.rotation_deg);
    o.jitter.scale = x.get<double>("scale", o.jitter.scale);
    o.jitter.shear = x.get<double>("shear", o.jitter.shear);
    o.jitter.translate = x.get<double>("translate", o.jitter.translate);
    o.jitter.vertex_noise = x.get<double>("vertex_noise", o.jitter.vertex_noise);
    o.jitter.thickness = x.get<double>("thickness", o.jitter.thickness);
    o.jitter.thickness_jitter = x.get<double>("thickness_jitter", o.jitter.thickness_jitter);
    MOE_CHECK(o.size >= 4 && o.size <= 512, "{}: must be in [4, 512], got {}", x.where("size"), o.size);
    MOE_CHECK(o.box > 0 && o.jitter.thickness > 0 && o.jitter.scale >= 0 && o.jitter.scale < 1,
              "{}: need box > 0, thickness > 0 and 0 <= scale < 1", r.where("raster"));
    x.finish();
  }
  if (r.has("synthetic")) {
    io::ConfigReader s = r.child("synthetic");
    d.synthetic_noise = s.get<double>("noise", d.synthetic_noise);
    MOE_CHECK(d.synthetic_noise > 0, "{}: must be > 0, got {}", s.where("noise"), d.synthetic_noise);
    s.finish();
  }
  r.finish();
  return d;
}

FewShotTrainConfig read_train(io::ConfigReader r) {
  FewShotTrainConfig t;
  t.steps = r.get<int64_t>("steps", t.steps);
  t.lr = r.get<double>("lr", t.lr);
  t.min_lr = r.get<double>("min_lr", t.min_lr);
  t.warmup = r.get<int64_t>("warmup", t.warmup);
  t.weight_decay = r.get<double>("weight_decay", t.weight_decay);
  t.clip = r.get<double>("clip", t.clip);
  t.ways = positive_list(r, "ways", t.ways);
  t.shots = positive_list(r, "shots", t.shots);
  t.queries = r.get<int64_t>("queries", t.queries);
  t.seed = r.get<uint64_t>("seed", t.seed);
  t.log_every = r.get<int64_t>("log_every", t.log_every);
  t.eval_every = r.get<int64_t>("eval_every", t.eval_every);
  t.eval_episodes = r.get<int64_t>("eval_episodes", t.eval_episodes);
  MOE_CHECK(t.steps >= 1, "{}: must be >= 1, got {}", r.where("steps"), t.steps);
  MOE_CHECK(t.lr > 0 && t.min_lr >= 0 && t.min_lr <= t.lr, "{}: need lr > 0 and 0 <= min_lr <= lr", r.where("lr"));
  MOE_CHECK(t.warmup >= 0 && t.clip >= 0 && t.weight_decay >= 0, "{}: warmup, clip and weight_decay must be >= 0",
            r.where(""));
  MOE_CHECK(t.queries >= 1 && t.log_every >= 1 && t.eval_every >= 0 && t.eval_episodes >= 1,
            "{}: need queries >= 1, log_every >= 1, eval_every >= 0 and eval_episodes >= 1", r.where(""));
  for (int64_t w : t.ways) MOE_CHECK(w >= 2, "{}: an episode needs at least 2 ways, got {}", r.where("ways"), w);
  r.finish();
  return t;
}

Accuracy summarise(const std::vector<double>& xs) {
  Accuracy a;
  const auto n = static_cast<double>(xs.size());
  for (double x : xs) a.mean += x / n;
  double var = 0;
  for (double x : xs) var += (x - a.mean) * (x - a.mean);
  a.ci95 = xs.size() > 1 ? 1.96 * std::sqrt(var / (n - 1)) / std::sqrt(n) : 0.0;
  return a;
}

double accuracy_of(const Tensor& logits, const Tensor& labels) {
  const std::vector<int64_t> pred = argmax(logits.detach(), 1).to_vector<int64_t>();
  const std::vector<int64_t> want = labels.to_vector<int64_t>();
  int64_t hit = 0;
  for (size_t i = 0; i < pred.size(); ++i) hit += pred[i] == want[i];
  return static_cast<double>(hit) / static_cast<double>(pred.size());
}

}  // namespace

FewShotRunConfig FewShotRunConfig::from_string(const std::string& text, const std::string& origin) {
  io::ConfigReader r = io::ConfigReader::from_string(text, origin);
  FewShotRunConfig c;
  c.text = text;
  c.model = models::FewShotConfig::from_config(r.child("model"));
  c.data = r.has("data") ? read_data(r.child("data")) : FewShotDataConfig{};
  c.train = r.has("train") ? read_train(r.child("train")) : FewShotTrainConfig{};
  c.out = r.get<std::string>("out", "runs/fewshot");
  r.finish();
  for (int64_t w : c.train.ways)
    MOE_CHECK(w <= c.model.max_ways, "{}: train.ways has {} but model.max_ways is {}", origin, w, c.model.max_ways);
  return c;
}

FewShotRunConfig FewShotRunConfig::from_file(const std::string& path) {
  return from_string(io::read_file(path), path);
}

FewShotSamplers make_samplers(const FewShotDataConfig& d, int64_t features) {
  FewShotSamplers s;
  if (d.dataset == "synthetic") {
    // Fresh class means per episode: train and test classes never coincide.
    s.train = std::make_unique<data::GaussianEpisodes>(features, d.synthetic_noise);
    s.test = std::make_unique<data::GaussianEpisodes>(features, d.synthetic_noise);
    s.split_description = s.test->describe();
    return s;
  }
  MOE_CHECK(d.raster.size * d.raster.size == features,
            "fewshot: the glyphs are {}x{} = {} pixels but the model takes {} features (set model.image_size to {})",
            d.raster.size, d.raster.size, d.raster.size * d.raster.size, features, d.raster.size);
  const std::vector<data::HersheyFont> fonts = data::read_hershey_dir(d.dir);
  const std::vector<std::string> test_fonts =
      d.test_fonts.empty() ? data::choose_test_fonts(fonts, d.test_fraction, d.split_seed) : d.test_fonts;
  data::GlyphSplit split = data::split_glyph_classes(fonts, test_fonts);
  std::string names;
  for (const auto& f : test_fonts) names += (names.empty() ? "" : ", ") + f;
  s.split_description = fmt::format("meta-test fonts {} ({} classes); meta-train: {} classes from the other {} fonts",
                                    names, split.test.size(), split.train.size(), fonts.size() - test_fonts.size());
  s.train = std::make_unique<data::GlyphEpisodes>(std::move(split.train), d.raster);
  s.test = std::make_unique<data::GlyphEpisodes>(std::move(split.test), d.raster);
  return s;
}

EpisodeScore score_episode(const models::MemoryFewShot& model, const data::Episode& e) {
  models::FewShotOutput out = model.forward(e.support, e.support_labels, e.query, e.shape.ways);
  EpisodeScore s;
  s.embeddings = out.embeddings;
  s.loss = cross_entropy(out.logits, e.query_labels);
  s.accuracy = accuracy_of(out.logits, e.query_labels);
  return s;
}

double ncm_accuracy(const Tensor& support, const Tensor& support_labels, const Tensor& query, const Tensor& query_labels,
                    int64_t ways) {
  MOE_CHECK(support.dim() == 2 && query.dim() == 2 && support.size(1) == query.size(1) &&
                support_labels.numel() == support.size(0) && query_labels.numel() == query.size(0),
            "ncm_accuracy: support {} / labels {} and query {} / labels {} do not fit", support.str(),
            support_labels.str(), query.str(), query_labels.str());
  const int64_t f = support.size(1);
  const std::vector<double> xs = support.to_vector<double>(), xq = query.to_vector<double>();
  const std::vector<int64_t> ys = support_labels.to_vector<int64_t>(), yq = query_labels.to_vector<int64_t>();
  std::vector<double> means(static_cast<size_t>(ways * f), 0.0);
  std::vector<int64_t> counts(static_cast<size_t>(ways), 0);
  for (size_t i = 0; i < ys.size(); ++i) {
    MOE_CHECK(ys[i] >= 0 && ys[i] < ways, "ncm_accuracy: support label {} is outside [0, {})", ys[i], ways);
    ++counts[static_cast<size_t>(ys[i])];
    for (int64_t j = 0; j < f; ++j) means[static_cast<size_t>(ys[i] * f + j)] += xs[i * static_cast<size_t>(f) + static_cast<size_t>(j)];
  }
  for (int64_t c = 0; c < ways; ++c) {
    MOE_CHECK(counts[static_cast<size_t>(c)] > 0, "ncm_accuracy: class {} has no support example", c);
    for (int64_t j = 0; j < f; ++j) means[static_cast<size_t>(c * f + j)] /= static_cast<double>(counts[static_cast<size_t>(c)]);
  }
  int64_t hit = 0;
  for (size_t q = 0; q < yq.size(); ++q) {
    int64_t best = 0;
    double best_d = INFINITY;
    for (int64_t c = 0; c < ways; ++c) {
      double d2 = 0;
      for (int64_t j = 0; j < f; ++j) {
        const double diff = xq[q * static_cast<size_t>(f) + static_cast<size_t>(j)] - means[static_cast<size_t>(c * f + j)];
        d2 += diff * diff;
      }
      if (d2 < best_d) best_d = d2, best = c;
    }
    hit += best == yq[q];
  }
  return static_cast<double>(hit) / static_cast<double>(yq.size());
}

std::vector<SettingResult> evaluate_fewshot(const models::MemoryFewShot& model, const data::EpisodeSampler& sampler,
                                            const std::vector<int64_t>& ways, const std::vector<int64_t>& shots,
                                            int64_t episodes, int64_t queries, uint64_t seed) {
  MOE_CHECK(episodes >= 1 && queries >= 1, "evaluate_fewshot: need episodes >= 1 and queries >= 1, got {}, {}", episodes,
            queries);
  NoGradGuard no_grad;
  std::vector<SettingResult> results;
  uint64_t setting = 0;
  for (int64_t n : ways)
    for (int64_t k : shots) {
      MOE_CHECK(n >= 2 && n <= model.config().max_ways, "fewshot eval: {}-way is outside [2, max_ways = {}]", n,
                model.config().max_ways);
      Rng rng(seed + 1000003 * setting++);
      std::vector<double> acc, pix, emb;
      for (int64_t e = 0; e < episodes; ++e) {
        const data::Episode ep = sampler.sample({n, k, queries}, rng);
        const EpisodeScore s = score_episode(model, ep);
        const int64_t n_support = ep.support.size(0);
        acc.push_back(s.accuracy);
        pix.push_back(ncm_accuracy(ep.support, ep.support_labels, ep.query, ep.query_labels, n));
        emb.push_back(ncm_accuracy(s.embeddings.slice(0, 0, n_support), ep.support_labels,
                                   s.embeddings.slice(0, n_support, s.embeddings.size(0)), ep.query_labels, n));
      }
      SettingResult r;
      r.ways = n, r.shots = k, r.queries = queries, r.episodes = episodes;
      r.chance = 1.0 / static_cast<double>(n);
      r.model = summarise(acc), r.ncm_pixels = summarise(pix), r.ncm_embedding = summarise(emb);
      results.push_back(r);
    }
  return results;
}

std::string format_setting(const SettingResult& r) {
  return fmt::format(
      "{}-way {}-shot ({:>2} examples): model {:.3f} +- {:.3f} | chance {:.3f} | NCM pixels {:.3f} +- {:.3f} | "
      "NCM embedding {:.3f} +- {:.3f}  ({} episodes x {} queries)",
      r.ways, r.shots, r.ways * r.shots, r.model.mean, r.model.ci95, r.chance, r.ncm_pixels.mean, r.ncm_pixels.ci95,
      r.ncm_embedding.mean, r.ncm_embedding.ci95, r.episodes, r.queries * r.ways);
}

namespace {

nlohmann::json setting_json(const SettingResult& r) {
  return {{"ways", r.ways},
          {"shots", r.shots},
          {"episodes", r.episodes},
          {"queries_per_class", r.queries},
          {"chance", r.chance},
          {"model_acc", r.model.mean},
          {"model_ci95", r.model.ci95},
          {"ncm_pixels_acc", r.ncm_pixels.mean},
          {"ncm_pixels_ci95", r.ncm_pixels.ci95},
          {"ncm_embedding_acc", r.ncm_embedding.mean},
          {"ncm_embedding_ci95", r.ncm_embedding.ci95}};
}

void save(const std::string& dir, const FewShotRunConfig& config, const models::MemoryFewShot& model,
          const optim::Optimizer& opt, int64_t step, const nlohmann::json& extra) {
  io::CheckpointData data;
  data.config_json = config.text;
  data.tokenizer_json = "{}";
  data.step = step;
  data.rng_seed = config.train.seed;
  data.extra = extra;
  io::save_checkpoint(dir, data, model.named_parameters(), &opt.state_dict());
}

}  // namespace

FewShotFitLog fit_fewshot(models::MemoryFewShot& model, const data::EpisodeSampler& sampler,
                          const FewShotRunConfig& config, const std::string& out_dir, const data::EpisodeSampler* test) {
  const FewShotTrainConfig& t = config.train;
  optim::AdamOptions ao;
  ao.lr = t.lr;
  ao.weight_decay = t.weight_decay;
  optim::AdamW opt(model.named_parameters(), ao);
  const optim::LrSchedule schedule =
      optim::LrSchedule::warmup_cosine(t.lr, t.min_lr, std::min(t.warmup, t.steps), t.steps);
  const bool verbose = !out_dir.empty();
  std::unique_ptr<MetricsLog> log;
  std::unique_ptr<ProgressReporter> progress;
  if (verbose) {
    log = std::make_unique<MetricsLog>(out_dir);
    progress = std::make_unique<ProgressReporter>(stdout, false, t.steps, t.log_every);
  }
  Rng rng(t.seed);
  model.train();
  FewShotFitLog result;
  double loss_sum = 0, acc_sum = 0;
  int64_t window = 0;
  for (int64_t step = 0; step < t.steps; ++step) {
    const int64_t ways = t.ways[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(t.ways.size())))];
    const int64_t shots = t.shots[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(t.shots.size())))];
    const data::Episode episode = sampler.sample({ways, shots, t.queries}, rng);
    opt.set_lr(schedule.lr(step));
    opt.zero_grad();
    EpisodeScore s = score_episode(model, episode);
    const double loss = s.loss.item();
    MOE_CHECK(std::isfinite(loss), "fewshot: step {}: the loss is {} (diverged; lower train.lr)", step + 1, loss);
    s.loss.backward();
    if (auto bad = optim::check_finite_and_clip(opt.params(), t.clip))
      throw Error(fmt::format("fewshot: step {}: non-finite gradient in {}", step + 1, *bad));
    opt.step();
    loss_sum += loss, acc_sum += s.accuracy, ++window;
    if (progress) progress->update(step + 1, loss, episode.support.size(0) + episode.query.size(0));
    if ((step + 1) % t.log_every == 0 || step + 1 == t.steps) {
      result.final_loss = loss_sum / static_cast<double>(window);
      result.final_accuracy = acc_sum / static_cast<double>(window);
      if (log)
        log->write({{"step", step + 1}, {"split", "train"}, {"loss", result.final_loss},
                    {"query_acc", result.final_accuracy}, {"lr", opt.lr()}});
      loss_sum = acc_sum = 0, window = 0;
    }
    const bool eval_now = t.eval_every > 0 && ((step + 1) % t.eval_every == 0 || step + 1 == t.steps);
    if (verbose && eval_now) {
      model.eval();
      nlohmann::json evals = nlohmann::json::array();
      if (test) {
        for (const SettingResult& r :
             evaluate_fewshot(model, *test, t.ways, t.shots, t.eval_episodes, t.queries, t.seed + 77)) {
          nlohmann::json j = setting_json(r);
          j["step"] = step + 1, j["split"] = "eval";
          log->write(j);
          progress->message(fmt::format("step {}: {}", step + 1, format_setting(r)));
          evals.push_back(j);
        }
      }
      save(out_dir + "/checkpoint", config, model, opt, step + 1, {{"eval", evals}});
      model.train();
    }
  }
  if (verbose && !(t.eval_every > 0)) save(out_dir + "/checkpoint", config, model, opt, t.steps, nlohmann::json::object());
  model.eval();
  return result;
}

void train_fewshot(const FewShotTrainOptions& o) {
  FewShotRunConfig config = FewShotRunConfig::from_file(o.config_path);
  if (o.steps) {
    MOE_CHECK(*o.steps >= 1, "fewshot: --steps must be >= 1, got {}", *o.steps);
    config.train.steps = *o.steps;
  }
  if (!o.dataset.empty()) {
    MOE_CHECK(o.dataset == "hershey" || o.dataset == "synthetic",
              "fewshot: --dataset must be hershey or synthetic, got '{}'", o.dataset);
    config.data.dataset = o.dataset;
    // The checkpoint's config must rebuild the same data, so the override is written into it.
    nlohmann::json j = nlohmann::json::parse(config.text);
    j["data"]["dataset"] = o.dataset;
    config.text = j.dump(2);
  }
  const std::string out = o.out_dir.empty() ? config.out : o.out_dir;
  std::filesystem::create_directories(out);
  Rng init(config.train.seed);
  models::MemoryFewShot model(config.model, init);
  const FewShotSamplers samplers = make_samplers(config.data, config.model.features());
  fmt::print("fewshot: {} parameters, encoder {}, {} memory; {}\n", model.num_parameters(), config.model.encoder,
             config.model.slots > 0 ? fmt::format("{}-slot attention-write", config.model.slots)
                                    : std::string("slot-per-support-item"),
             samplers.split_description);
  fmt::print("fewshot: {} steps, ways {}, shots {}, {} queries per class, lr {} -> {}\n", config.train.steps,
             fmt::join(config.train.ways, ","), fmt::join(config.train.shots, ","), config.train.queries,
             config.train.lr, config.train.min_lr);
  const FewShotFitLog fit = fit_fewshot(model, *samplers.train, config, out, samplers.test.get());
  fmt::print("fewshot: done; last {} steps: loss {:.4f}, query accuracy {:.4f}; checkpoint {}/checkpoint\n",
             config.train.log_every, fit.final_loss, fit.final_accuracy, out);
}

LoadedFewShot load_fewshot(const std::string& dir) {
  LoadedFewShot l;
  l.checkpoint_dir = std::filesystem::exists(dir + "/state.json") ? dir : dir + "/checkpoint";
  const io::CheckpointData meta = io::read_checkpoint_meta(l.checkpoint_dir);
  l.config = FewShotRunConfig::from_string(meta.config_json, l.checkpoint_dir + "/config.json");
  Rng init(l.config.train.seed);
  l.model = std::make_unique<models::MemoryFewShot>(l.config.model, init);
  io::load_params(l.checkpoint_dir, l.model->named_parameters());
  l.model->eval();
  return l;
}

}  // namespace moe::train
