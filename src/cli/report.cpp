// report.cpp: `moe report`: a trained moe_classifier checkpoint's test metrics as a
// table (accuracy, expert utilization, specialization, load-balance variance, the
// expert x class routing counts) and an expert x class heatmap PNG.
#include <fmt/core.h>

#include <filesystem>

#include "cli/commands.h"
#include "moe/analysis/heatmap_png.h"
#include "moe/train/classifier_trainer.h"

namespace moe::cli {

Command report_command() {
  struct Opts {
    std::string checkpoint, data, heatmap;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("report", "Routing metrics and an expert x class heatmap of a moe_classifier");
    sub->add_option("--checkpoint", o->checkpoint, "Checkpoint directory of a moe_classifier run")->required();
    sub->add_option("--data", o->data, "Fixture directory (sentiment_fixtures runs; default: the config's)");
    sub->add_option("--heatmap", o->heatmap, "PNG to write (default: CHECKPOINT/../expert_class_heatmap.png)");
    sub->add_flag("--json", o->json, "Print the metrics as one JSON object as the last line");
    return sub;
  };
  c.run = [o]() -> int {
    train::LoadedClassifier l = train::load_classifier_checkpoint(o->checkpoint);
    train::ClassifierData d = train::load_classifier_data(l.run, o->data);
    analysis::ClassifierMetrics m = train::evaluate_classifier(*l.moe, d.test);
    const int64_t E = static_cast<int64_t>(m.utilization.size());
    fmt::print("moe_classifier {}: {} test examples, {} experts, top-{}\n", o->checkpoint, d.test.labels.size(0), E,
               l.run.model.moe.router.top_k);
    fmt::print("accuracy               {:.4f}\n", m.accuracy);
    if (l.baseline) fmt::print("dense baseline         {:.4f}\n", train::evaluate_dense(*l.baseline, d.test));
    fmt::print("specialization index   {:.4f}  (1 - utilization-weighted class entropy {:.4f})\n",
               m.specialization_index, m.expert_class_entropy);
    fmt::print("load-balance variance  {:.6f}\n\n", m.load_balance_variance);
    std::string head = fmt::format("{:<8} {:>11} {:>9}", "expert", "utilization", "entropy");
    for (const std::string& name : d.class_names) head += fmt::format(" {:>9}", name);
    fmt::print("{}\n", head);
    std::vector<std::vector<double>> shares(E);
    for (int64_t e = 0; e < E; ++e) {
      std::string line = fmt::format("{:<8} {:>11.4f} {:>9.4f}", e, m.utilization[e], m.class_entropy[e]);
      double row = 0;
      for (int64_t v : m.counts[e]) row += v;
      for (int64_t v : m.counts[e]) {
        line += fmt::format(" {:>9}", v);
        shares[e].push_back(row > 0 ? v / row : 0.0);
      }
      fmt::print("{}\n", line);
    }
    std::string png = o->heatmap;
    if (png.empty()) {
      std::filesystem::path dir = std::filesystem::path(o->checkpoint).lexically_normal();
      if (!dir.has_filename()) dir = dir.parent_path();  // "runs/x/checkpoint/"
      png = (dir.parent_path() / "expert_class_heatmap.png").string();
    }
    // Rows: experts; columns: classes; cell colour: the share of the expert's decisions
    // that went to examples of that class.
    analysis::write_heatmap_png(png, shares);
    fmt::print("\nheatmap: {} ({} experts x {} classes, p(class | expert))\n", png, E, d.class_names.size());
    if (o->json) {
      nlohmann::json j = m.to_json();
      j["classes"] = d.class_names;
      j["heatmap"] = png;
      fmt::print("{}\n", j.dump());
    }
    return 0;
  };
  return c;
}

}  // namespace moe::cli
