// main.cpp: the `moe` command line: global flags, then one subcommand per file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/core.h>

#include "cli/commands.h"
#include "moe/core/error.h"
#include "moe/core/parallel.h"
#include "moe/core/storage.h"

int main(int argc, char** argv) {
  CLI::App app{"moe.cpp: train, inspect and serve sparse Mixture-of-Experts models"};
  app.require_subcommand(0, 1);
  app.fallthrough();  // global options (--threads) may also follow the subcommand
  bool version = false;
  int threads = 0;
  app.add_flag("--version", version, "Print the version and the build's GEMM backend");
  app.add_option("--threads", threads, "Thread count (default: MOE_NUM_THREADS, else OpenMP's default)")
      ->check(CLI::PositiveNumber);
  std::string device = "cpu";
  app.add_option("--device", device, "cpu (default) or cuda (the CUDA backend; see README)")
      ->check(CLI::IsMember({"cpu", "cuda"}));

  std::vector<moe::cli::Command> commands = moe::cli::all_commands();
  for (auto& c : commands) c.sub = c.setup(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    moe::init_threads_from_env();
    if (threads > 0) moe::set_num_threads(threads);
    if (version) {
      fmt::print("moe {}\nblas: {} (openblas_get_parallel = {}: 0 sequential, 1 pthreads, 2 OpenMP)\nmalloc: {}\nthreads: {}\n",
                 MOE_VERSION, moe::blas_name(), moe::blas_parallel_mode(), moe::malloc_name(), moe::num_threads());
      return 0;
    }
    for (auto& c : commands)
      if (c.sub && c.sub->parsed()) {
        moe::cli::check_device_option(device, c.sub->get_name());
        return c.run();
      }
    fmt::print("{}", app.help());
    return 0;
  } catch (const moe::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
