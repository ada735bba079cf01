// commands.h: how a subcommand plugs into `moe`: setup adds its options to the app,
// run executes it after parsing. One file per subcommand defines its Command.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace moe::cli {

struct Command {
  std::function<CLI::App*(CLI::App&)> setup;
  std::function<int()> run;
  CLI::App* sub = nullptr;
};

Command train_command();
Command eval_command();
Command generate_command();
Command chat_command();
Command inspect_command();
Command demo_command();
Command bench_command();
Command sweep_command();
Command tokenizer_command();
Command report_command();
Command route_command();
Command serve_command();
Command set_command();
Command lottery_command();
Command dnc_command();
Command fewshot_command();
Command planned_command(const std::string& name, const std::string& what, const std::string& issue);
std::vector<Command> all_commands();
// The global --device flag (cli/device.cpp): returns for "cpu", throws naming why for "cuda".
void check_device_option(const std::string& device, const std::string& command);

}  // namespace moe::cli
