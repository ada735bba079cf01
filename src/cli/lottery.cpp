// lottery.cpp: `moe lottery`: iterative magnitude pruning with rewinding on a ViT
// (train/lottery_trainer.h), beside a random re-initialisation control; writes
// OUT/metrics.jsonl (one record per round) and the plots; --replot redraws them from it.
#include <fmt/core.h>

#include "cli/commands.h"
#include "moe/train/lottery_trainer.h"

namespace moe::cli {

Command lottery_command() {
  struct Opts {
    train::LotteryOptions run;
    int64_t rounds = -1;
    bool replot = false;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("lottery", "Lottery tickets on a ViT: prune, rewind, retrain, per round");
    sub->add_option("--config", o->run.config_path, "Lottery config (configs/lottery_vit_fashion_mnist.json)");
    sub->add_option("--out", o->run.out_dir, "Output directory (metrics.jsonl, accuracy_vs_sparsity.svg)")->required();
    sub->add_option("--rounds", o->rounds, "Pruning rounds (default: the config's lottery.rounds)");
    sub->add_flag("--quiet", o->run.quiet, "Print nothing but errors");
    sub->add_flag("--replot", o->replot, "Train nothing: redraw the plots of OUT/metrics.jsonl");
    return sub;
  };
  c.run = [o]() -> int {
    if (o->rounds != -1) o->run.rounds = o->rounds;
    std::vector<train::LotteryRound> rounds;
    if (o->replot) {
      rounds = train::read_lottery_rounds(o->run.out_dir + "/metrics.jsonl");
      train::write_lottery_plots(o->run.out_dir, rounds);
    } else {
      rounds = train::run_lottery(o->run);
    }
    if (!o->run.quiet) {
      fmt::print("\n{:>5} {:>9} {:>8} {:>8} {:>9} {:>10} {:>9} {:>9}\n", "round", "sparsity", "ticket", "re-init",
                 "one-shot", "attn-only", "mlp-only", "seconds");
      for (const train::LotteryRound& r : rounds) {
        auto num = [](double v) { return v >= 0 ? fmt::format("{:.4f}", v) : std::string("-"); };
        fmt::print("{:>5} {:>9.4f} {:>8.4f} {:>8} {:>9} {:>10} {:>9} {:>9.0f}\n", r.round, r.sparsity,
                   r.ticket_accuracy, num(r.reinit_accuracy), num(r.oneshot_global_accuracy),
                   num(r.oneshot_attention_accuracy), num(r.oneshot_mlp_accuracy), r.seconds);
      }
      fmt::print("metrics: {0}/metrics.jsonl  plots: {0}/accuracy_vs_sparsity.svg, {0}/oneshot_sensitivity.svg\n",
                 o->run.out_dir);
    }
    return 0;
  };
  return c;
}

}  // namespace moe::cli
