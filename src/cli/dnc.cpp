// dnc.cpp: `moe dnc`, the Differentiable Neural Computer on the copy task (issue #7):
//   moe dnc --config configs/dnc_copy.json [--steps N] [--out runs/dnc]    train
//   moe dnc --checkpoint runs/dnc --eval-lengths 5,10,20,30,40             bit error rate by length
//   moe dnc --checkpoint runs/dnc --dump-memory mem.json --plot mem.svg    memory over one sequence
#include <fmt/core.h>

#include <fstream>

#include "cli/commands.h"
#include "cli/int_list.h"
#include "moe/analysis/dnc_memory.h"
#include "moe/core/error.h"
#include "moe/io/atomic_file.h"
#include "moe/train/dnc_trainer.h"

namespace moe::cli {

Command dnc_command() {
  struct Opts {
    std::string config, out, checkpoint, eval_lengths, dump_memory, plot;
    int64_t steps = 0, length = 0, batches = 0;
    uint64_t seed = 0;
    bool json = false, quiet = false;
  };
  auto o = std::make_shared<Opts>();
  Command c;
  c.setup = [o](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("dnc", "Differentiable Neural Computer on the copy task: train, evaluate "
                                              "by length, dump and plot the memory");
    sub->add_option("--config", o->config, "Train from this config (configs/dnc_copy.json)");
    sub->add_option("--steps", o->steps, "Override train.steps");
    sub->add_option("--seed", o->seed, "Override train.seed (training) or the sequence seed (dump)");
    sub->add_option("--out", o->out, "Run directory (overrides the config's \"out\")");
    sub->add_option("--checkpoint", o->checkpoint, "A trained run (its directory or its checkpoint/)");
    sub->add_option("--eval-lengths", o->eval_lengths, "Comma-separated lengths for the bit error rate");
    sub->add_option("--batches", o->batches, "Evaluation batches per length (default: the config's)");
    sub->add_option("--dump-memory", o->dump_memory, "Write the memory trace of one sequence as JSON");
    sub->add_option("--plot", o->plot, "Plot the memory trace of one sequence (.svg or .png)");
    sub->add_option("--length", o->length, "Sequence length for --dump-memory/--plot (default: task max_length)");
    sub->add_flag("--json", o->json, "Print evaluation results as JSON");
    sub->add_flag("--quiet", o->quiet, "No progress output while training");
    return sub;
  };
  c.run = [o]() -> int {
    if (!o->config.empty()) {
      MOE_CHECK(o->checkpoint.empty(), "dnc: give --config (train) or --checkpoint (evaluate), not both");
      train::CopyTrainOptions t;
      t.config_path = o->config;
      t.out_dir = o->out;
      if (o->steps != 0) t.steps = o->steps;
      if (o->seed != 0) t.seed = o->seed;
      t.quiet = o->quiet;
      const train::CopyTrainResult r = train::train_copy(t);
      fmt::print("final train loss {:.4f} (first window {:.4f})\n", r.final_loss, r.first_loss);
      for (const train::CopyScore& s : r.eval)
        fmt::print("length {:3d}: bit error rate {:.4f}, loss {:.4f}\n", s.length, s.bit_error_rate, s.loss);
      return 0;
    }
    MOE_CHECK(!o->checkpoint.empty(), "dnc: give --config to train or --checkpoint to evaluate");
    MOE_CHECK(!o->eval_lengths.empty() || !o->dump_memory.empty() || !o->plot.empty(),
              "dnc: with --checkpoint, give --eval-lengths, --dump-memory or --plot");
    train::LoadedCopyModel loaded = train::load_copy_model(o->checkpoint);
    const train::CopyExperiment& e = loaded.experiment;
    if (!o->eval_lengths.empty()) {
      const int64_t batches = o->batches > 0 ? o->batches : e.train.eval_batches;
      nlohmann::json rows = nlohmann::json::array();
      if (!o->json)
        fmt::print("{} ({} steps, trained on lengths {}..{})\n| length | bit error rate | loss |\n| --- | --- | --- |\n",
                   e.model.kind, loaded.step, e.task.min_length, e.task.max_length);
      for (int64_t L : parse_positive_int_list(o->eval_lengths, "dnc: --eval-lengths")) {
        const train::CopyScore s =
            train::evaluate_copy(*loaded.model, e.task.bits, L, batches, e.train.eval_batch, e.train.seed);
        if (o->json) rows.push_back({{"length", L}, {"bit_error_rate", s.bit_error_rate}, {"loss", s.loss}});
        else fmt::print("| {} | {:.4f} | {:.4f} |\n", L, s.bit_error_rate, s.loss);
      }
      if (o->json) fmt::print("{}\n", rows.dump());
    }
    if (!o->dump_memory.empty() || !o->plot.empty()) {
      const auto* dnc = dynamic_cast<const models::dnc::Dnc*>(loaded.model.get());
      MOE_CHECK(dnc != nullptr, "dnc: {} is a \"{}\" model, which has no memory to dump", loaded.checkpoint_dir,
                e.model.kind);
      const int64_t length = o->length > 0 ? o->length : e.task.max_length;
      const analysis::DncMemoryDump dump =
          analysis::trace_dnc_copy(*dnc, e.task.bits, length, o->seed != 0 ? o->seed : 12345);
      if (!o->dump_memory.empty()) {
        io::write_file_atomic(o->dump_memory, analysis::dnc_dump_json(dump).dump());
        fmt::print("memory trace: {}\n", o->dump_memory);
      }
      if (!o->plot.empty()) {
        analysis::write_dnc_plot(o->plot, dump);
        fmt::print("plot: {} (sequence length {}, bit error rate {:.4f})\n", o->plot, length, dump.bit_error_rate);
      }
    }
    return 0;
  };
  return c;
}

}  // namespace moe::cli
