// train.cpp: `moe train`. Until the language models land, it trains the demo MLP.
#include <fmt/core.h>

#include "cli/commands.h"
#include "moe/moe.h"

namespace moe::cli {

Command train_command() {
  struct Opts {
    int steps = 300;
    uint64_t seed = 0;
  };
  auto opts = std::make_shared<Opts>();
  Command c;
  c.setup = [opts](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("train", "Train a model");
    sub->add_option("--steps", opts->steps, "Optimizer steps")->check(CLI::PositiveNumber);
    sub->add_option("--seed", opts->seed, "Random seed");
    return sub;
  };
  c.run = [opts]() -> int {
    fmt::print("demo: not wired yet\n");
    return 0;
  };
  return c;
}

}  // namespace moe::cli
