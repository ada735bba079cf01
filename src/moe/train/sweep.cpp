// train/sweep.cpp: expanding, validating and running sweeps, and their report.
#include "moe/train/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "moe/analysis/svg_plot.h"
#include "moe/core/error.h"
#include "moe/core/rng.h"
#include "moe/data/char_tokenizer.h"
#include "moe/data/text_dataset.h"
#include "moe/io/atomic_file.h"
#include "moe/models/transformer_lm.h"
#include "moe/train/lm_trainer.h"
#include "moe/train/metrics_log.h"

namespace moe::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Splits at commas that are not inside brackets, braces or a double-quoted string.
std::vector<std::string> split_top_level(const std::string& s) {
  std::vector<std::string> parts(1);
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\' && i + 1 < s.size()) {  // an escape: keep it and the escaped character
        parts.back() += c;
        parts.back() += s[++i];
        continue;
      }
      if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      parts.emplace_back();
      continue;
    }
    parts.back() += c;
  }
  return parts;
}

std::string describe(const SweepPoint& p) {
  std::string out;
  for (const auto& [key, value] : p)
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", key, sweep_value_text(value));
  return out;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

double number_or_nan(const json& record, const char* key) {
  auto it = record.find(key);
  return it != record.end() && it->is_number() ? it->get<double>() : kNaN;
}

std::string fmt_or_dash(double v, const char* spec) {
  return std::isfinite(v) ? fmt::format(fmt::runtime(spec), v) : "-";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_row(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) line += ',';
    line += csv_field(cells[i]);
  }
  return line + "\n";
}

std::string csv_number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : ""; }

std::vector<std::string> keys_of(const std::vector<SweepRunSummary>& runs) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : runs.empty() ? SweepPoint{} : runs.front().point) keys.push_back(key);
  return keys;
}

// A run's value for `key` ("" when that run lacks it: directories of different sweeps).
std::string value_of(const SweepRunSummary& r, const std::string& key) {
  for (const auto& [k, v] : r.point)
    if (k == key) return sweep_value_text(v);
  return "";
}

// "label=value, ..." for legends.
std::string legend_name(const SweepRunSummary& r, const std::vector<std::string>& keys,
                        const std::vector<std::string>& labels) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < keys.size(); ++i) parts.push_back(labels[i] + "=" + value_of(r, keys[i]));
  return parts.empty() ? r.name : join(parts, ", ");
}

}  // namespace

SweepAxis parse_sweep_axis(const std::string& spec) {
  const size_t eq = spec.find('=');
  MOE_CHECK(eq != std::string::npos, "sweep: --set '{}': expected key=v1,v2,...", spec);
  SweepAxis axis;
  axis.key = spec.substr(0, eq);
  MOE_CHECK(!axis.key.empty(), "sweep: --set '{}': the key is empty", spec);
  for (const std::string& part : split_top_level(spec.substr(eq + 1))) {
    MOE_CHECK(!part.empty(), "sweep: --set '{}': an empty value (two commas, or nothing after '=')", spec);
    json v = json::parse(part, nullptr, /*allow_exceptions=*/false);
    axis.values.push_back(v.is_discarded() ? json(part) : v);
  }
  return axis;
}

std::vector<SweepPoint> expand_sweep(const std::vector<SweepAxis>& axes) {
  std::set<std::string> seen;
  for (const SweepAxis& a : axes) {
    MOE_CHECK(seen.insert(a.key).second, "sweep: the key {} is set twice", a.key);
    MOE_CHECK(!a.values.empty(), "sweep: the key {} has no values", a.key);
  }
  std::vector<SweepPoint> points(1);
  for (const SweepAxis& a : axes) {  // each axis multiplies the points so far, keeping earlier axes slower
    std::vector<SweepPoint> next;
    for (const SweepPoint& p : points)
      for (const json& v : a.values) {
        next.push_back(p);
        next.back().emplace_back(a.key, v);
      }
    points = std::move(next);
  }
  return points;
}

void set_config_path(json& config, const std::string& key, const json& value) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot = key.find('.');; dot = key.find('.', start)) {
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const std::string& p : parts) MOE_CHECK(!p.empty(), "sweep: the key '{}' has an empty part", key);
  json* node = &config;
  std::string path;
  for (size_t i = 0; i < parts.size(); ++i) {
    MOE_CHECK(node->is_object(), "sweep: cannot set {}: {} is {}, not an object", key,
              path.empty() ? "the config" : path, node->type_name());
    if (i + 1 == parts.size()) break;
    if (!node->contains(parts[i])) {
      std::vector<std::string> have;
      for (const auto& [k, v] : node->items()) have.push_back(k);
      throw Error(fmt::format("sweep: cannot set {}: {} has no '{}' (it has: {})", key,
                              path.empty() ? "the config" : path, parts[i],
                              have.empty() ? "nothing" : join(have, ", ")));
    }
    path += (path.empty() ? "" : ".") + parts[i];
    node = &(*node)[parts[i]];
  }
  (*node)[parts.back()] = value;
}

std::string sweep_value_text(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

std::vector<std::string> sweep_labels(const std::vector<std::string>& keys) {
  auto suffix = [](const std::string& key, int parts) {  // the last `parts` dotted parts
    size_t pos = key.size();
    for (int i = 0; i < parts; ++i) {
      const size_t dot = pos == 0 ? std::string::npos : key.rfind('.', pos - 1);
      if (dot == std::string::npos) return key;
      pos = dot;
    }
    return key.substr(pos + 1);
  };
  std::vector<std::string> labels;
  for (const std::string& key : keys) {
    for (int n = 1;; ++n) {
      const std::string label = suffix(key, n);
      const bool unique = std::none_of(keys.begin(), keys.end(), [&](const std::string& other) {
        return &other != &key && suffix(other, n) == label;
      });
      if (unique || label == key) {
        labels.push_back(label);
        break;
      }
    }
  }
  return labels;
}

std::string sweep_run_name(size_t index, size_t count, const SweepPoint& point) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : point) keys.push_back(key);
  const std::vector<std::string> labels = sweep_labels(keys);
  const int width = static_cast<int>(std::to_string(std::max<size_t>(count, 1)).size());
  std::string name = fmt::format("run-{:0{}}", index, width);
  for (size_t i = 0; i < point.size(); ++i) {
    std::string part = labels[i] + "=" + sweep_value_text(point[i].second);
    for (char& c : part)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '=' && c != '+' && c != '-')
        c = '_';
    name += "-" + part;
  }
  return name.size() > 200 ? name.substr(0, 200) : name;
}

SweepOutcome run_sweep(const SweepOptions& o) {
  MOE_CHECK(!o.config_path.empty(), "sweep: a base config is required (--config FILE)");
  MOE_CHECK(!o.data_path.empty(), "sweep: a training text is required (--data FILE)");
  MOE_CHECK(!o.out_dir.empty(), "sweep: an output directory is required (--out DIR)");
  MOE_CHECK(!o.sets.empty(), "sweep: give at least one --set key=v1,v2,...");
  MOE_CHECK(o.steps >= 1, "sweep: --steps must be >= 1, got {}", o.steps);

  json base;
  try {
    base = json::parse(io::read_file(o.config_path));
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("sweep: {} is not valid JSON: {}", o.config_path, e.what()));
  }
  MOE_CHECK(base.is_object(), "sweep: {} must hold a JSON object", o.config_path);
  if (!base.contains("train")) base["train"] = json::object();
  set_config_path(base, "train.steps", o.steps);
  if (o.seed) set_config_path(base, "train.seed", *o.seed);

  std::vector<SweepAxis> axes;
  for (const std::string& s : o.sets) axes.push_back(parse_sweep_axis(s));
  const std::vector<SweepPoint> points = expand_sweep(axes);
  const size_t n = points.size();
  for (const SweepAxis& a : axes) {  // a mistyped path fails here, before any combination
    json probe = base;
    set_config_path(probe, a.key, a.values.front());
  }
  // A new or empty directory only: runs append to an existing metrics.jsonl, and the
  // report reads every run directory it finds, so an old sweep's runs would mix in.
  MOE_CHECK(!fs::exists(o.out_dir) || (fs::is_directory(o.out_dir) && fs::is_empty(o.out_dir)),
            "sweep: {} already exists and is not empty; choose a new --out DIR", o.out_dir);

  // Up front: every combination parses and builds its model.
  const std::string text = data::read_text_file(o.data_path);
  const int64_t vocab = data::CharTokenizer::build(text).vocab_size();
  std::vector<std::string> names, configs;
  for (size_t i = 0; i < n; ++i) {
    const std::string name = sweep_run_name(i + 1, n, points[i]);
    const std::string run_dir = (fs::path(o.out_dir) / name).string();
    json cfg = base;
    try {
      for (const auto& [key, value] : points[i]) set_config_path(cfg, key, value);
      RunConfig rc = RunConfig::parse_text(cfg.dump(2), run_dir + "/sweep_config.json");
      if (rc.model.vocab_size == 0) rc.model.vocab_size = vocab;
      Rng rng(0);
      models::TransformerLM check(rc.model, rng);
    } catch (const Error& e) {
      throw Error(fmt::format("sweep: run {}/{} ({}): {}", i + 1, n, describe(points[i]), e.what()));
    }
    names.push_back(name);
    configs.push_back(cfg.dump(2));
  }

  SweepOutcome outcome;
  outcome.runs = n;
  for (size_t i = 0; i < n; ++i) {
    const std::string run_dir = (fs::path(o.out_dir) / names[i]).string();
    if (!o.quiet) fmt::print("run {}/{}: {}\n", i + 1, n, describe(points[i]));
    std::fflush(stdout);
    fs::create_directories(run_dir);
    io::write_file_atomic(run_dir + "/sweep_config.json", configs[i] + "\n");
    json values = json::array();
    for (const auto& [key, value] : points[i]) values.push_back({key, value});
    io::write_file_atomic(run_dir + "/sweep_point.json", json{{"index", i + 1}, {"values", values}}.dump(2) + "\n");
    TrainOptions t;
    t.config_path = run_dir + "/sweep_config.json";
    t.data_path = o.data_path;
    t.out_dir = run_dir;
    t.quiet = o.quiet;
    try {
      train_lm(t);
    } catch (const Error& e) {  // e.g. a diverging learning rate: record it, run the rest
      ++outcome.failed;
      io::write_file_atomic(run_dir + "/sweep_error.txt", std::string(e.what()) + "\n");
      if (!o.quiet) fmt::print("run {}/{} failed: {}\n", i + 1, n, e.what());
    }
  }
  outcome.report_markdown = write_sweep_report(o.out_dir);
  if (!o.quiet) {
    fmt::print("\n{}", outcome.report_markdown);
    if (outcome.failed) fmt::print("{} of {} runs failed (see their sweep_error.txt)\n", outcome.failed, n);
  }
  return outcome;
}

LayerLoad layer_load(const std::vector<int64_t>& tokens_per_expert, int64_t dropped) {
  LayerLoad l;
  l.experts = static_cast<int64_t>(tokens_per_expert.size());
  l.dropped = dropped;
  double total = 0;
  for (int64_t t : tokens_per_expert) total += static_cast<double>(t);
  if (l.experts == 0 || total <= 0) {
    l.busiest = l.idlest = l.entropy = kNaN;
    return l;
  }
  l.busiest = 0, l.idlest = 1;
  double h = 0;
  for (int64_t t : tokens_per_expert) {
    const double p = static_cast<double>(t) / total;
    l.busiest = std::max(l.busiest, p);
    l.idlest = std::min(l.idlest, p);
    if (p > 0) h -= p * std::log(p);
  }
  l.entropy = l.experts > 1 ? h / std::log(static_cast<double>(l.experts)) : 1.0;
  return l;
}

double SweepRunSummary::busiest() const {
  double m = kNaN;
  for (const LayerLoad& l : layers)
    if (std::isfinite(l.busiest)) m = std::isfinite(m) ? std::max(m, l.busiest) : l.busiest;
  return m;
}

double SweepRunSummary::idlest() const {
  double m = kNaN;
  for (const LayerLoad& l : layers)
    if (std::isfinite(l.idlest)) m = std::isfinite(m) ? std::min(m, l.idlest) : l.idlest;
  return m;
}

double SweepRunSummary::entropy() const {
  double sum = 0;
  int n = 0;
  for (const LayerLoad& l : layers)
    if (std::isfinite(l.entropy)) sum += l.entropy, ++n;
  return n ? sum / n : kNaN;
}

int64_t SweepRunSummary::dropped() const {
  int64_t sum = 0;
  for (const LayerLoad& l : layers) sum += l.dropped;
  return sum;
}

SweepRunSummary summarize_sweep_run(const std::string& run_dir) {
  SweepRunSummary r;
  r.name = fs::path(run_dir).filename().string();
  const std::string point_path = run_dir + "/sweep_point.json";
  try {
    const json p = json::parse(io::read_file(point_path));
    r.index = p.at("index").get<size_t>();
    for (const json& kv : p.at("values")) r.point.emplace_back(kv.at(0).get<std::string>(), kv.at(1));
  } catch (const json::exception& e) {
    throw Error(fmt::format("sweep report: {}: {}", point_path, e.what()));
  }
  r.train_loss = r.val_loss = r.tokens_per_s = kNaN;
  std::vector<json> records;
  if (fs::exists(run_dir + "/metrics.jsonl")) records = read_metrics(run_dir + "/metrics.jsonl");
  double tps_sum = 0;
  int tps_n = 0;
  for (const json& rec : records) {
    const double step = number_or_nan(rec, "step");
    if (std::isfinite(step)) r.steps = static_cast<int64_t>(step);
    if (rec.contains("loss")) {
      r.train_loss = number_or_nan(rec, "loss");
      r.loss_steps.push_back(step), r.loss.push_back(r.train_loss);
    }
    if (rec.contains("val_loss")) {
      r.val_loss = number_or_nan(rec, "val_loss");
      r.val_steps.push_back(step), r.val.push_back(r.val_loss);
    }
    if (const double tps = number_or_nan(rec, "tokens_per_s"); std::isfinite(tps)) tps_sum += tps, ++tps_n;
    if (rec.contains("layers") && rec["layers"].is_array() && !rec["layers"].empty()) {
      r.layers.clear();
      try {
        for (const json& l : rec["layers"])
          r.layers.push_back(
              layer_load(l.at("tokens_per_expert").get<std::vector<int64_t>>(), l.value("dropped", int64_t{0})));
      } catch (const json::exception& e) {
        throw Error(
            fmt::format("sweep report: {}/metrics.jsonl: step {}: bad \"layers\": {}", run_dir, step, e.what()));
      }
      r.load_steps.push_back(step), r.load.push_back(r.busiest());
    }
  }
  if (tps_n) r.tokens_per_s = tps_sum / tps_n;

  int64_t configured = -1;
  if (fs::exists(run_dir + "/sweep_config.json")) {
    const json cfg = json::parse(io::read_file(run_dir + "/sweep_config.json"), nullptr, false);
    if (!cfg.is_discarded() && cfg.contains("train") && cfg["train"].value("steps", json()).is_number_integer())
      configured = cfg["train"]["steps"].get<int64_t>();
  }
  if (fs::exists(run_dir + "/sweep_error.txt")) {
    std::string msg = io::read_file(run_dir + "/sweep_error.txt");
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.pop_back();
    r.status = "failed: " + msg;
  } else {
    r.status = records.empty() || (configured > 0 && r.steps < configured) ? "incomplete" : "ok";
  }
  return r;
}

std::vector<SweepRunSummary> read_sweep(const std::string& dir) {
  MOE_CHECK(fs::is_directory(dir), "sweep report: {} is not a directory", dir);
  std::vector<SweepRunSummary> runs;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory() && fs::exists(entry.path() / "sweep_point.json"))
      runs.push_back(summarize_sweep_run(entry.path().string()));
  MOE_CHECK(!runs.empty(), "sweep report: no run directories (holding sweep_point.json) in {}", dir);
  std::sort(runs.begin(), runs.end(), [](const SweepRunSummary& a, const SweepRunSummary& b) {
    return a.index != b.index ? a.index < b.index : a.name < b.name;
  });
  return runs;
}

std::string sweep_markdown(const std::vector<SweepRunSummary>& runs, const std::string& title) {
  const std::vector<std::string> keys = keys_of(runs), labels = sweep_labels(keys);
  std::string md = fmt::format("# Sweep: {}\n\n{} runs; swept: {}.\n\n", title, runs.size(),
                               keys.empty() ? "nothing" : join(keys, ", "));
  std::vector<std::string> head{"run"};
  head.insert(head.end(), labels.begin(), labels.end());
  for (const char* h : {"status", "steps", "train loss", "val loss", "tokens/s", "busiest expert", "idlest expert",
                        "load entropy", "dropped"})
    head.push_back(h);
  std::string rule = "|";
  for (size_t i = 0; i < head.size(); ++i) rule += " --- |";
  md += "| " + join(head, " | ") + " |\n" + rule + "\n";
  for (const SweepRunSummary& r : runs) {
    std::vector<std::string> row{std::to_string(r.index)};
    for (const std::string& k : keys) row.push_back(value_of(r, k));
    std::string status = r.status;
    for (char& c : status)
      if (c == '|' || c == '\n') c = ' ';
    const bool moe = !r.layers.empty();
    row.insert(row.end(), {status, std::to_string(r.steps), fmt_or_dash(r.train_loss, "{:.4f}"),
                           fmt_or_dash(r.val_loss, "{:.4f}"), fmt_or_dash(r.tokens_per_s, "{:.0f}"),
                           fmt_or_dash(100 * r.busiest(), "{:.1f}%"), fmt_or_dash(100 * r.idlest(), "{:.1f}%"),
                           fmt_or_dash(r.entropy(), "{:.3f}"), moe ? std::to_string(r.dropped()) : "-"});
    md += "| " + join(row, " | ") + " |\n";
  }
  md +=
      "\nLosses are the last logged ones (train: the mean of the last log window); tokens/s is the mean over the "
      "run's log records. The expert columns read the last logged batch: the busiest and idlest expert's share of "
      "the routing assignments (max and min over MoE layers), the load entropy H(shares) / log E (1 = uniform; "
      "mean over layers) and the assignments dropped over capacity (sum over layers). results.csv has every "
      "layer.\n\n![validation loss](val_loss.svg)\n\n![training loss](train_loss.svg)\n\n![busiest expert's "
      "share](expert_load.svg)\n";
  return md;
}

std::string sweep_csv(const std::vector<SweepRunSummary>& runs) {
  const std::vector<std::string> keys = keys_of(runs);
  size_t layers = 0;
  for (const SweepRunSummary& r : runs) layers = std::max(layers, r.layers.size());
  std::vector<std::string> head{"run", "dir"};
  head.insert(head.end(), keys.begin(), keys.end());
  for (const char* h : {"status", "steps", "train_loss", "val_loss", "tokens_per_s", "busiest_share", "idlest_share",
                        "load_entropy", "dropped"})
    head.push_back(h);
  for (size_t l = 0; l < layers; ++l)
    for (const char* h : {"busiest_share", "idlest_share", "load_entropy", "dropped"})
      head.push_back(fmt::format("layer{}_{}", l, h));
  std::string csv;
  csv += csv_row(head);
  for (const SweepRunSummary& r : runs) {
    std::vector<std::string> row{std::to_string(r.index), r.name};
    for (const std::string& k : keys) row.push_back(value_of(r, k));
    const bool moe = !r.layers.empty();
    row.insert(row.end(), {r.status, std::to_string(r.steps), csv_number(r.train_loss), csv_number(r.val_loss),
                           csv_number(r.tokens_per_s), csv_number(r.busiest()), csv_number(r.idlest()),
                           csv_number(r.entropy()), moe ? std::to_string(r.dropped()) : ""});
    for (size_t l = 0; l < layers; ++l) {
      if (l < r.layers.size()) {
        const LayerLoad& x = r.layers[l];
        row.insert(row.end(),
                   {csv_number(x.busiest), csv_number(x.idlest), csv_number(x.entropy), std::to_string(x.dropped)});
      } else {
        row.insert(row.end(), {"", "", "", ""});
      }
    }
    csv += csv_row(row);
  }
  return csv;
}

std::string write_sweep_report(const std::string& dir) {
  const std::vector<SweepRunSummary> runs = read_sweep(dir);
  const std::vector<std::string> keys = keys_of(runs), labels = sweep_labels(keys);
  const std::string md = sweep_markdown(runs, dir);
  io::write_file_atomic(dir + "/results.md", md);
  io::write_file_atomic(dir + "/results.csv", sweep_csv(runs));

  auto chart = [](std::string title, std::string y_label) {
    LineChart c;
    c.title = std::move(title), c.x_label = "step", c.y_label = std::move(y_label);
    return c;
  };
  LineChart val = chart("Validation loss", "validation loss");
  LineChart train = chart("Training loss", "training loss (mean of the log window)");
  LineChart load = chart("Busiest expert's share of the assignments (max over MoE layers)", "share");
  std::set<int64_t> expert_counts;
  for (const SweepRunSummary& r : runs) {
    const std::string name = legend_name(r, keys, labels);
    val.series.push_back({name, r.val_steps, r.val});
    train.series.push_back({name, r.loss_steps, r.loss});
    if (!r.layers.empty()) {
      load.series.push_back({name, r.load_steps, r.load});
      expert_counts.insert(r.layers.front().experts);
    }
  }
  for (int64_t e : expert_counts)
    if (e > 0) load.ref_lines.push_back({1.0 / static_cast<double>(e), fmt::format("1/E (E = {})", e)});
  io::write_file_atomic(dir + "/val_loss.svg", render_svg(val));
  io::write_file_atomic(dir + "/train_loss.svg", render_svg(train));
  io::write_file_atomic(dir + "/expert_load.svg", render_svg(load));
  return md;
}

}  // namespace moe::train
