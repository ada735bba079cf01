// set.cpp: `moe set`: Sparse Evolutionary Training (or its dense baseline) of an MLP on
// MNIST or Fashion-MNIST; per-epoch metrics in OUT/metrics.jsonl, OUT/summary.json.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "moe/data/idx.h"
#include "moe/train/set_trainer.h"

namespace moe::cli {

Command set_command() {
  struct Opts {
    std::string config, dataset, out;
    int64_t epochs = 0, train_limit = -1;
    double epsilon = 0;
    bool dense = false, no_progress = false;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("set", "Sparse Evolutionary Training of an MLP on MNIST / Fashion-MNIST");
    sub->add_option("--config", o->config, "SET config (configs/set_mnist.json)")->required();
    sub->add_option("--dataset", o->dataset, "mnist or fashion-mnist (overrides train.dataset)");
    sub->add_option("--epochs", o->epochs, "Epochs (overrides train.epochs)")->check(CLI::PositiveNumber);
    sub->add_option("--density-epsilon", o->epsilon, "SET's epsilon (overrides model.density_epsilon)")
        ->check(CLI::PositiveNumber);
    sub->add_option("--train-limit", o->train_limit, "Use the first N training examples (overrides train.train_limit)");
    sub->add_flag("--dense", o->dense, "Train the dense MLP of the same shape instead");
    sub->add_flag("--no-progress", o->no_progress, "No progress lines");
    sub->add_option("--out", o->out, "Run directory (metrics.jsonl, summary.json)")->required();
    return sub;
  };
  c.run = [o]() -> int {
    models::SetConfig cfg = models::load_set_config(o->config);
    if (!o->dataset.empty()) cfg.train.dataset = o->dataset;
    if (o->epochs > 0) cfg.train.epochs = o->epochs;
    if (o->epsilon > 0) cfg.model.density_epsilon = o->epsilon;
    if (o->train_limit >= 0) cfg.train.train_limit = o->train_limit;
    if (o->dense) cfg.model.dense = true;
    const data::ImageDatasetFiles files = data::resolve_image_dataset(cfg.train.dataset);
    const data::ImageDataset train = data::load_image_dataset(files.train_images, files.train_labels, cfg.train.train_limit);
    const data::ImageDataset test = data::load_image_dataset(files.test_images, files.test_labels, cfg.train.test_limit);
    fmt::print("set: {} ({} train, {} test), {} MLP {}, epsilon {}\n", cfg.train.dataset, train.size(), test.size(),
               cfg.model.dense ? "dense" : "SET", fmt::join(cfg.model.layers, "-"), cfg.model.density_epsilon);
    const nlohmann::json s = train::run_set_training(cfg, train, test, {o->out, !o->no_progress});
    fmt::print("set: final test accuracy {:.2f}% with {} connections ({:.2f}% of dense), {:.1f} ms/step; wrote {}/metrics.jsonl, {}/summary.json\n",
               100 * s["final_test_accuracy"].get<double>(), s["connections_total"].get<int64_t>(),
               100 * s["density"].get<double>(), s["mean_step_ms"].get<double>(), o->out, o->out);
    return 0;
  };
  return c;
}

}  // namespace moe::cli
