// commands.cpp: the list of subcommands, and the ones whose systems have not landed yet
// (they parse, then exit non-zero naming the issue that builds them, so scripts fail
// loudly, not silently).
#include <fmt/core.h>

#include "cli/commands.h"
#include "moe/core/error.h"

namespace moe::cli {

Command planned_command(const std::string& name, const std::string& what, const std::string& issue) {
  Command c;
  c.setup = [name, what](CLI::App& app) {
    CLI::App* sub = app.add_subcommand(name, what + " (not yet available)");
    sub->allow_extras();
    return sub;
  };
  c.run = [name, issue]() -> int {
    throw Error(fmt::format("`moe {}` is not available in this version yet: it lands with {}", name, issue));
  };
  return c;
}

std::vector<Command> all_commands() {
  return {
      train_command(),
      eval_command(),
      generate_command(),
      chat_command(),
      inspect_command(),
      demo_command(),
      bench_command(),
      sweep_command(),
      tokenizer_command(),
      report_command(),
      route_command(),
      serve_command(),
      set_command(),
      lottery_command(),
      dnc_command(),
      fewshot_command(),
  };
}

}  // namespace moe::cli
