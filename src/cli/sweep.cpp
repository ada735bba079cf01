// sweep.cpp: `moe sweep`: one training run per combination of config values, then a
// comparison (results.md, results.csv, SVG plots); `--report DIR` rewrites the report.
#include "moe/train/sweep.h"

#include <fmt/core.h>

#include "cli/commands.h"
#include "moe/core/error.h"

namespace moe::cli {

Command sweep_command() {
  struct Opts {
    train::SweepOptions s;
    std::string report_dir;
    uint64_t seed = 0;
    CLI::Option* seed_opt = nullptr;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("sweep", "Train one run per combination of config values and compare them");
    sub->add_option("--config", o->s.config_path, "Base config (configs/*.json)");
    sub->add_option("--data", o->s.data_path, "UTF-8 training text");
    sub->add_option("--set", o->s.sets,
                    "key=v1,v2,...: a dotted config key and its values (repeatable; the cartesian product runs)");
    sub->add_option("--steps", o->s.steps, "Optimizer steps of every run")->check(CLI::PositiveNumber);
    sub->add_option("--out", o->s.out_dir, "Sweep directory (one run directory per combination)");
    o->seed_opt = sub->add_option("--seed", o->seed, "Random seed of every run (overrides the config)");
    sub->add_option("--report", o->report_dir, "Only rewrite the report of an existing sweep directory");
    return sub;
  };
  c.run = [o]() -> int {
    if (!o->report_dir.empty()) {
      MOE_CHECK(o->s.sets.empty() && o->s.config_path.empty(),
                "sweep: --report DIR only rewrites a report; it takes no --config or --set");
      fmt::print("{}", train::write_sweep_report(o->report_dir));
      return 0;
    }
    MOE_CHECK(!o->s.config_path.empty() && !o->s.data_path.empty() && !o->s.out_dir.empty() && o->s.steps > 0,
              "sweep: give --config FILE --data FILE --set key=v1,v2,... --steps N --out DIR (or --report DIR)");
    if (o->seed_opt->count()) o->s.seed = o->seed;
    const train::SweepOutcome r = train::run_sweep(o->s);
    fmt::print("wrote {0}/results.md, {0}/results.csv, {0}/val_loss.svg, {0}/train_loss.svg, {0}/expert_load.svg\n",
               o->s.out_dir);
    return r.failed == 0 ? 0 : 1;
  };
  return c;
}

}  // namespace moe::cli
