// fewshot.cpp: `moe fewshot`, meta-training the memory-augmented few-shot transformer
// (issue #7) on N-way K-shot episodes, or evaluating a checkpoint per setting against
// chance and the nearest-class-mean baselines.
#include <fmt/core.h>


#include "cli/commands.h"
#include "cli/int_list.h"
#include "moe/analysis/image_grid_png.h"
#include "moe/core/error.h"
#include "moe/train/fewshot_trainer.h"
#include "moe/train/metrics_log.h"

namespace moe::cli {

namespace {

// A figure of the data: `rows` classes of each split (meta-train first, then meta-test),
// each row the undistorted glyph followed by cols - 1 jittered renderings.
void write_samples(const std::string& config_path, const std::string& path, int64_t rows, int64_t cols, uint64_t seed) {
  const train::FewShotRunConfig config = train::FewShotRunConfig::from_file(config_path);
  MOE_CHECK(config.data.dataset == "hershey", "fewshot --samples: {} is not a hershey config", config_path);
  MOE_CHECK(rows >= 1 && cols >= 2, "fewshot --samples: need rows >= 1 and cols >= 2");
  const train::FewShotSamplers samplers = train::make_samplers(config.data, config.model.features());
  Rng rng(seed);
  std::vector<std::vector<float>> images;
  for (const data::EpisodeSampler* s : {samplers.train.get(), samplers.test.get()}) {
    const auto& glyphs = dynamic_cast<const data::GlyphEpisodes&>(*s);
    for (int64_t c : data::sample_distinct(glyphs.num_classes(), std::min(rows, glyphs.num_classes()), rng)) {
      const data::HersheyGlyph& g = glyphs.classes()[static_cast<size_t>(c)].glyph;
      images.push_back(data::rasterise_glyph(g, glyphs.raster(), nullptr));
      for (int64_t k = 1; k < cols; ++k) images.push_back(data::rasterise_glyph(g, glyphs.raster(), &rng));
    }
  }
  analysis::write_image_grid_png(path, images, config.data.raster.size, cols, 2);
  fmt::print("wrote {}: {} meta-train then {} meta-test classes ({})\n", path, rows, rows, samplers.split_description);
}

}  // namespace

Command fewshot_command() {
  struct Opts {
    std::string config, out, checkpoint, dataset, ways = "3,5", shots = "1,2,5";
    int64_t steps = 0, episodes = 500, queries = 0;
    uint64_t seed = 12345;
    std::string samples;
    int64_t sample_rows = 6;
    bool eval = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("fewshot", "Meta-train or evaluate the memory-augmented few-shot transformer");
    sub->add_option("--config", o->config, "Run config (configs/fewshot_hershey.json)");
    sub->add_option("--steps", o->steps, "Training episodes (overrides train.steps)");
    sub->add_option("--out", o->out, "Output directory (overrides the config's out)");
    sub->add_option("--dataset", o->dataset, "hershey or synthetic (overrides data.dataset)");
    sub->add_option("--checkpoint", o->checkpoint, "With --eval: a checkpoint or out directory");
    sub->add_flag("--eval", o->eval, "Evaluate --checkpoint on the meta-test classes");
    sub->add_option("--ways", o->ways, "With --eval: N values, e.g. 3,5");
    sub->add_option("--shots", o->shots, "With --eval: K values, e.g. 1,2,5");
    sub->add_option("--episodes", o->episodes, "With --eval: episodes per setting");
    sub->add_option("--queries", o->queries, "With --eval: queries per class (default: train.queries)");
    sub->add_option("--seed", o->seed, "With --eval: episode seed");
    sub->add_flag("--json", o->json, "With --eval: one JSON object per setting");
    sub->add_option("--samples", o->samples, "With --config: write a PNG of rendered meta-train/meta-test glyphs");
    sub->add_option("--sample-rows", o->sample_rows, "With --samples: classes per split");
    return sub;
  };
  c.run = [o]() -> int {
    if (!o->samples.empty()) {
      MOE_CHECK(!o->config.empty() && !o->eval, "fewshot --samples needs --config FILE (and no --eval)");
      write_samples(o->config, o->samples, o->sample_rows, 8, o->seed);
      return 0;
    }
    if (!o->eval) {
      MOE_CHECK(!o->config.empty(), "fewshot: training needs --config FILE (or pass --eval --checkpoint DIR)");
      train::FewShotTrainOptions t;
      t.config_path = o->config;
      t.out_dir = o->out;
      t.dataset = o->dataset;
      if (o->steps != 0) t.steps = o->steps;
      train::train_fewshot(t);
      return 0;
    }
    MOE_CHECK(!o->checkpoint.empty(), "fewshot --eval needs --checkpoint DIR");
    MOE_CHECK(o->dataset.empty() && o->steps == 0, "fewshot --eval: --dataset and --steps are training options");
    MOE_CHECK(o->episodes >= 1, "fewshot --eval: --episodes must be >= 1, got {}", o->episodes);
    const std::vector<int64_t> ways = parse_positive_int_list(o->ways, "fewshot: --ways");
    const std::vector<int64_t> shots = parse_positive_int_list(o->shots, "fewshot: --shots");
    train::LoadedFewShot loaded = train::load_fewshot(o->checkpoint);
    const train::FewShotSamplers samplers =
        train::make_samplers(loaded.config.data, loaded.config.model.features());
    const int64_t queries = o->queries > 0 ? o->queries : loaded.config.train.queries;
    if (!o->json) fmt::print("fewshot eval of {}: {}\n", loaded.checkpoint_dir, samplers.split_description);
    const std::vector<train::SettingResult> results =
        train::evaluate_fewshot(*loaded.model, *samplers.test, ways, shots, o->episodes, queries, o->seed);
    for (const auto& r : results) {
      if (o->json)
        fmt::print("{}\n", nlohmann::json{{"ways", r.ways}, {"shots", r.shots}, {"episodes", r.episodes},
                                          {"chance", r.chance}, {"model_acc", r.model.mean},
                                          {"model_ci95", r.model.ci95}, {"ncm_pixels_acc", r.ncm_pixels.mean},
                                          {"ncm_pixels_ci95", r.ncm_pixels.ci95},
                                          {"ncm_embedding_acc", r.ncm_embedding.mean},
                                          {"ncm_embedding_ci95", r.ncm_embedding.ci95}}
                                .dump());
      else
        fmt::print("{}\n", train::format_setting(r));
    }
    return 0;
  };
  return c;
}

}  // namespace moe::cli
