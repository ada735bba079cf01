// train/sweep.h: hyperparameter sweeps of language models, `moe sweep`.
//
// A sweep takes a base config and axes ("model.ffn.num_experts=2,4,8"), trains one normal
// run directory per combination of the axes' values (the cartesian product, first axis
// slowest), one after the other, and compares them:
//   DIR/run-<i>-<label=value>-.../   train_lm's run directory, plus sweep_config.json (the
//                                    combination's full config), sweep_point.json (index
//                                    and values) and, if the run failed, sweep_error.txt
//   DIR/results.md, DIR/results.csv  one row per run: values, final losses, tokens/s,
//                                    expert load of the last logged batch, dropped tokens
//   DIR/val_loss.svg, train_loss.svg, expert_load.svg   one line per run over steps
// Every combination's config is parsed and its model built before the first run starts,
// so a bad value fails the whole sweep at once, naming the combination. The report reads
// only the run directories, so it can be regenerated (`moe sweep --report DIR`) while a
// sweep runs or after it crashed.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moe::train {

// One --set: a dotted config key and its values in the order given.
struct SweepAxis {
  std::string key;
  std::vector<nlohmann::json> values;
};

// Parses "key=v1,v2,...". Values split at commas outside [], {} and double quotes; each
// parses as JSON (numbers, true/false, null, arrays, "quoted strings"), else it is kept as
// the raw string (so kind=topk,expert_choice works unquoted). Throws on a missing '=',
// an empty key or an empty value.
SweepAxis parse_sweep_axis(const std::string& spec);

// One combination: a (key, value) pair per axis, in axis order.
using SweepPoint = std::vector<std::pair<std::string, nlohmann::json>>;

// The cartesian product of the axes' values, first axis slowest (like nested loops with
// the last axis innermost). No axes: one empty point. Throws on a repeated key.
std::vector<SweepPoint> expand_sweep(const std::vector<SweepAxis>& axes);

// Sets config at the dotted `key` ("model.ffn.router.kind") to `value`. Every parent must
// already exist and be an object, so a typo in the path is an error naming the key and the
// keys that do exist; a new leaf is allowed (the strict config parser judges it).
void set_config_path(nlohmann::json& config, const std::string& key, const nlohmann::json& value);

// A value as names and tables show it: strings bare, anything else as compact JSON.
std::string sweep_value_text(const nlohmann::json& value);

// Short column labels for dotted keys: each key's shortest dotted suffix that no other
// key shares ("model.ffn.router.kind" -> "kind", or "router.kind" next to "expert.kind").
std::vector<std::string> sweep_labels(const std::vector<std::string>& keys);

// The run directory name of combination `index` (1-based) of `count`: "run-03-label=value-..."
// with the index zero-padded to count's width and characters outside [A-Za-z0-9._=+-]
// replaced by '_'; cut to 200 characters (the index keeps names unique).
std::string sweep_run_name(size_t index, size_t count, const SweepPoint& point);

struct SweepOptions {
  std::string config_path;        // the base config
  std::string data_path;          // UTF-8 text, as for `moe train`
  std::string out_dir;            // the sweep directory
  std::vector<std::string> sets;  // "key=v1,v2,..." each
  int64_t steps = 0;              // train.steps of every run (>= 1)
  std::optional<uint64_t> seed;   // train.seed of every run (an axis may still sweep it)
  bool quiet = false;             // no output at all (tests)
};

struct SweepOutcome {
  size_t runs = 0;
  size_t failed = 0;  // runs whose training threw (diverged, ...); the others still ran
  std::string report_markdown;
};

// Validates every combination, trains them in order and writes the report. A run that
// throws moe::Error is recorded in its sweep_error.txt and the sweep goes on.
SweepOutcome run_sweep(const SweepOptions& options);

// The routing load of one MoE layer in one logged batch.
struct LayerLoad {
  int64_t experts = 0;
  double busiest = 0, idlest = 0;  // the largest and smallest expert's share of the assignments
  double entropy = 0;              // H(shares) / log(E): 1 = uniform, 0 = one expert (E = 1: 1)
  int64_t dropped = 0;             // assignments over capacity
};
LayerLoad layer_load(const std::vector<int64_t>& tokens_per_expert, int64_t dropped);

// What the report shows of one run directory. Missing values are NaN.
struct SweepRunSummary {
  std::string name;  // the directory name
  size_t index = 0;  // 1-based
  SweepPoint point;
  std::string status;  // "ok", "incomplete" (fewer steps logged than configured) or "failed: <message>"
  int64_t steps = 0;   // the last logged step
  double train_loss = 0, val_loss = 0, tokens_per_s = 0;
  std::vector<LayerLoad> layers;  // from the last record with "layers"
  // Curves over steps: training loss, validation loss, the busiest expert's share (max over layers).
  std::vector<double> loss_steps, loss, val_steps, val, load_steps, load;

  // Over layers: the max busiest share, the min idlest share, the mean entropy, the
  // total dropped (NaN / 0 for a model without MoE layers).
  double busiest() const;
  double idlest() const;
  double entropy() const;
  int64_t dropped() const;
};

// Reads one run directory (sweep_point.json, sweep_config.json, metrics.jsonl,
// sweep_error.txt); a run that never logged has NaN values.
SweepRunSummary summarize_sweep_run(const std::string& run_dir);

// Every run directory of a sweep (those holding sweep_point.json), in index order. Throws
// when there is none.
std::vector<SweepRunSummary> read_sweep(const std::string& dir);

// The report as markdown and CSV text (also what write_sweep_report writes).
std::string sweep_markdown(const std::vector<SweepRunSummary>& runs, const std::string& title);
std::string sweep_csv(const std::vector<SweepRunSummary>& runs);

// Reads the run directories of DIR and writes results.md, results.csv, val_loss.svg,
// train_loss.svg and expert_load.svg there; returns the markdown.
std::string write_sweep_report(const std::string& dir);

}  // namespace moe::train
