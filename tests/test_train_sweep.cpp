// Sweeps: --set parsing, the cartesian product's order, dotted-path setting and its
// errors, run names, up-front validation of every combination, the report read from
// hand-written run directories, and one tiny real sweep end to end.
#include <filesystem>
#include <fstream>

#include "moe/io/atomic_file.h"
#include "moe/train/sweep.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') out.emplace_back();
    else out.back().push_back(c);
  }
  return out;
}

// A tiny MoE LM config (2 layers of 4 experts) and a short repetitive text.
void write_tiny_inputs(const std::string& dir) {
  io::write_file_atomic(dir + "/config.json", R"({
    "model": {"context": 8, "d_model": 16, "heads": 2, "layers": 2, "dropout": 0.0,
              "ffn": {"kind": "moe", "num_experts": 4,
                      "router": {"kind": "topk", "top_k": 2},
                      "expert": {"kind": "ffn", "d_ff": 16}}},
    "train": {"batch_size": 4, "steps": 50, "warmup": 1, "lr": 3e-3, "log_every": 1, "eval_every": 2,
              "eval_batches": 1, "checkpoint_every": 100, "seed": 3}})");
  std::string text;
  for (int i = 0; i < 30; ++i) text += "call me ishmael; the whale swims. ";
  io::write_file_atomic(dir + "/text.txt", text);
}

// A run directory as a sweep writes it, with the given metrics records.
void write_run(const std::string& dir, size_t index, const json& values, int64_t steps,
               const std::vector<json>& records) {
  fs::create_directories(dir);
  io::write_file_atomic(dir + "/sweep_point.json", json{{"index", index}, {"values", values}}.dump());
  io::write_file_atomic(dir + "/sweep_config.json", json{{"train", {{"steps", steps}}}}.dump());
  std::string lines;
  for (const json& r : records) lines += r.dump() + "\n";
  if (!records.empty()) io::write_file_atomic(dir + "/metrics.jsonl", lines);
}

json layer(std::vector<int64_t> tokens, int64_t dropped) {
  return {{"tokens_per_expert", tokens}, {"dropped", dropped}, {"load_cv", 0.0}};
}

}  // namespace

TEST(Sweep, ParsesSetValuesAsJsonOrRawStrings) {
  train::SweepAxis a = train::parse_sweep_axis("model.ffn.num_experts=2,4,8");
  EXPECT_EQ(a.key, "model.ffn.num_experts");
  EXPECT_EQ(a.values, (std::vector<json>{2, 4, 8}));
  EXPECT_TRUE(a.values[0].is_number_integer());

  a = train::parse_sweep_axis("model.ffn.router.kind=topk,expert_choice");
  EXPECT_EQ(a.values, (std::vector<json>{"topk", "expert_choice"}));

  a = train::parse_sweep_axis(R"(k=true,0.01,1e-3,"quoted, with comma",[1,2],{"a":[3,4]},null)");
  ASSERT_EQ(a.values.size(), 7u);
  EXPECT_EQ(a.values[0], true);
  EXPECT_DOUBLE_EQ(a.values[1].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(a.values[2].get<double>(), 1e-3);
  EXPECT_EQ(a.values[3], "quoted, with comma");
  EXPECT_EQ(a.values[4], json::parse("[1,2]"));
  EXPECT_EQ(a.values[5], json::parse(R"({"a":[3,4]})"));
  EXPECT_TRUE(a.values[6].is_null());

  a = train::parse_sweep_axis(R"(k="say \"a,b\"",c)");
  EXPECT_EQ(a.values, (std::vector<json>{"say \"a,b\"", "c"}));

  expect_error([] { train::parse_sweep_axis("model.ffn.num_experts"); }, {"model.ffn.num_experts", "key=v1,v2"});
  expect_error([] { train::parse_sweep_axis("=1,2"); }, {"key is empty"});
  expect_error([] { train::parse_sweep_axis("k="); }, {"'k='", "empty value"});
  expect_error([] { train::parse_sweep_axis("k=1,,2"); }, {"empty value"});
}

TEST(Sweep, ExpandsTheCartesianProductFirstAxisSlowest) {
  std::vector<train::SweepAxis> axes{{"a", {1, 2}}, {"b", {"x", "y", "z"}}, {"c", {true}}};
  std::vector<train::SweepPoint> p = train::expand_sweep(axes);
  ASSERT_EQ(p.size(), 6u);
  std::vector<std::string> got;
  for (const auto& point : p) {
    ASSERT_EQ(point.size(), 3u);
    EXPECT_EQ(point[0].first, "a");
    EXPECT_EQ(point[1].first, "b");
    EXPECT_EQ(point[2].first, "c");
    got.push_back(point[0].second.dump() + train::sweep_value_text(point[1].second) + point[2].second.dump());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"1xtrue", "1ytrue", "1ztrue", "2xtrue", "2ytrue", "2ztrue"}));

  EXPECT_EQ(train::expand_sweep({}).size(), 1u);  // one run of the base config
  expect_error([] { train::expand_sweep({{"a", {1}}, {"a", {2}}}); }, {"a is set twice"});
  expect_error([] { train::expand_sweep({{"a", {}}}); }, {"a has no values"});
}

TEST(Sweep, SetsDottedPathsStrictlyAboutParents) {
  json cfg = json::parse(R"({"model": {"context": 8, "ffn": {"kind": "moe", "router": {"kind": "topk"}}}})");
  train::set_config_path(cfg, "model.ffn.router.kind", "expert_choice");
  train::set_config_path(cfg, "model.ffn.router.switch_loss", 0.01);  // a new leaf under an existing parent
  train::set_config_path(cfg, "model.context", 16);
  EXPECT_EQ(cfg["model"]["ffn"]["router"]["kind"], "expert_choice");
  EXPECT_EQ(cfg["model"]["ffn"]["router"]["switch_loss"], 0.01);
  EXPECT_EQ(cfg["model"]["context"], 16);

  expect_error([&] { train::set_config_path(cfg, "model.ffn.ruoter.kind", "topk"); },
               {"model.ffn.ruoter.kind", "model.ffn has no 'ruoter'", "kind, router"});
  expect_error([&] { train::set_config_path(cfg, "modle.context", 4); },
               {"modle.context", "the config has no 'modle'"});
  expect_error([&] { train::set_config_path(cfg, "model.context.x", 4); },
               {"model.context.x", "model.context is number, not an object"});
  expect_error([&] { train::set_config_path(cfg, "model..context", 4); }, {"model..context", "empty part"});
  EXPECT_FALSE(cfg["model"]["ffn"].contains("ruoter"));  // nothing was added on the way
}

TEST(Sweep, LabelsAndRunNames) {
  EXPECT_EQ(train::sweep_labels({"model.ffn.router.kind", "model.ffn.expert.kind", "train.lr", "seed"}),
            (std::vector<std::string>{"router.kind", "expert.kind", "lr", "seed"}));
  EXPECT_EQ(train::sweep_labels({"a.x", "x"}), (std::vector<std::string>{"a.x", "x"}));
  train::SweepPoint p{{"model.ffn.router.switch_loss", 0.01}, {"model.ffn.router.kind", "expert choice/2"}};
  EXPECT_EQ(train::sweep_run_name(3, 12, p), "run-03-switch_loss=0.01-kind=expert_choice_2");
  EXPECT_EQ(train::sweep_run_name(3, 9, p).substr(0, 6), "run-3-");
  EXPECT_EQ(train::sweep_run_name(1, 1, {{"table", json::parse("[0,1]")}}), "run-1-table=_0_1_");
  EXPECT_EQ(train::sweep_run_name(1, 1, {{"k", std::string(300, 'v')}}).size(), 200u);
}

TEST(Sweep, LayerLoadSharesAndNormalisedEntropy) {
  train::LayerLoad l = train::layer_load({10, 30, 0, 60}, 7);
  EXPECT_EQ(l.experts, 4);
  EXPECT_DOUBLE_EQ(l.busiest, 0.6);
  EXPECT_DOUBLE_EQ(l.idlest, 0.0);
  EXPECT_NEAR(l.entropy, -(0.1 * std::log(0.1) + 0.3 * std::log(0.3) + 0.6 * std::log(0.6)) / std::log(4.0), 1e-12);
  EXPECT_EQ(l.dropped, 7);
  EXPECT_NEAR(train::layer_load({5, 5, 5, 5}, 0).entropy, 1.0, 1e-12);
  EXPECT_NEAR(train::layer_load({0, 9, 0}, 0).entropy, 0.0, 1e-12);
  EXPECT_EQ(train::layer_load({9}, 0).entropy, 1.0);
  EXPECT_TRUE(std::isnan(train::layer_load({}, 0).busiest));
  EXPECT_TRUE(std::isnan(train::layer_load({0, 0}, 0).entropy));
}

TEST(Sweep, ReportFromRunDirectories) {
  const std::string dir = test_tmp_dir("sweep");
  // Run 1: two MoE layers of 4 experts, finished. Run 2: the same, one step short of its
  // config (still running or killed). Run 3 failed before logging. Indices decide the
  // order, not names (run-10 sorts before run-2 as text).
  auto rec = [](int step, double loss, double tps, json layers, std::optional<double> val = {}) {
    json r = {{"step", step}, {"loss", loss}, {"tokens_per_s", tps}, {"layers", layers}};
    if (val) r["val_loss"] = *val;
    return r;
  };
  json l1a = json::array({layer({25, 25, 25, 25}, 0), layer({40, 20, 20, 20}, 1)});
  json l1b = json::array({layer({10, 30, 0, 60}, 2), layer({40, 20, 20, 20}, 3)});
  write_run(dir + "/run-2-switch_loss=0", 1, json::parse(R"([["model.ffn.router.switch_loss", 0]])"), 4,
            {rec(2, 3.0, 100, l1a, 2.9), rec(4, 2.5, 300, l1b, 2.4)});
  write_run(dir + "/run-10-switch_loss=0.1", 2, json::parse(R"([["model.ffn.router.switch_loss", 0.1]])"), 4,
            {rec(2, 2.8, 200, l1a), {{"step", 3}, {"loss", nullptr}, {"tokens_per_s", nullptr}, {"layers", l1a}}});
  write_run(dir + "/run-3-switch_loss=1", 3, json::parse(R"([["model.ffn.router.switch_loss", 1]])"), 4, {});
  io::write_file_atomic(dir + "/run-3-switch_loss=1/sweep_error.txt", "train: step 1: the loss is nan\n");
  fs::create_directories(dir + "/not-a-run");  // ignored: no sweep_point.json

  std::vector<train::SweepRunSummary> runs = train::read_sweep(dir);
  ASSERT_EQ(runs.size(), 3u);
  const train::SweepRunSummary &a = runs[0], &b = runs[1], &c = runs[2];
  EXPECT_EQ(a.name, "run-2-switch_loss=0");
  EXPECT_EQ(b.name, "run-10-switch_loss=0.1");
  EXPECT_EQ(a.status, "ok");
  EXPECT_EQ(b.status, "incomplete");
  EXPECT_EQ(c.status, "failed: train: step 1: the loss is nan");
  EXPECT_EQ(a.steps, 4);
  EXPECT_DOUBLE_EQ(a.train_loss, 2.5);
  EXPECT_DOUBLE_EQ(a.val_loss, 2.4);
  EXPECT_DOUBLE_EQ(a.tokens_per_s, 200);  // mean of 100 and 300
  ASSERT_EQ(a.layers.size(), 2u);      // from the last record
  EXPECT_DOUBLE_EQ(a.busiest(), 0.6);  // max over layers
  EXPECT_DOUBLE_EQ(a.idlest(), 0.0);   // min over layers
  const double h0 = -(0.1 * std::log(0.1) + 0.3 * std::log(0.3) + 0.6 * std::log(0.6)) / std::log(4.0);
  const double h1 = -(0.4 * std::log(0.4) + 3 * 0.2 * std::log(0.2)) / std::log(4.0);
  EXPECT_NEAR(a.entropy(), (h0 + h1) / 2, 1e-12);
  EXPECT_EQ(a.dropped(), 5);
  EXPECT_EQ(a.load, (std::vector<double>{0.4, 0.6}));
  EXPECT_TRUE(std::isnan(b.train_loss));  // its last loss was null
  EXPECT_TRUE(std::isnan(b.val_loss));    // never evaluated
  EXPECT_DOUBLE_EQ(b.tokens_per_s, 200);  // the null is skipped
  EXPECT_TRUE(c.layers.empty());
  EXPECT_TRUE(std::isnan(c.train_loss));

  const std::string md = train::write_sweep_report(dir);
  EXPECT_EQ(md, io::read_file(dir + "/results.md"));
  EXPECT_NE(md.find("| run | switch_loss | status | steps | train loss | val loss | tokens/s | busiest expert | "
                    "idlest expert | load entropy | dropped |"),
            std::string::npos)
      << md;
  const std::string row =
      fmt::format("| 1 | 0 | ok | 4 | 2.5000 | 2.4000 | 200 | 60.0% | 0.0% | {:.3f} | 5 |", (h0 + h1) / 2);
  EXPECT_NE(md.find(row), std::string::npos)
      << md;
  EXPECT_NE(md.find("| 3 | 1 | failed: train: step 1: the loss is nan | 0 | - | - | - | - | - | - | - |"),
            std::string::npos)
      << md;

  const std::vector<std::string> csv = lines_of(io::read_file(dir + "/results.csv"));
  ASSERT_EQ(csv.size(), 4u);
  const std::vector<std::string> head = csv_cells(csv[0]);
  EXPECT_EQ(head, (std::vector<std::string>{"run", "dir", "model.ffn.router.switch_loss", "status", "steps",
                                            "train_loss", "val_loss", "tokens_per_s", "busiest_share", "idlest_share",
                                            "load_entropy", "dropped", "layer0_busiest_share", "layer0_idlest_share",
                                            "layer0_load_entropy", "layer0_dropped", "layer1_busiest_share",
                                            "layer1_idlest_share", "layer1_load_entropy", "layer1_dropped"}));
  const std::vector<std::string> row1 = csv_cells(csv[1]);
  ASSERT_EQ(row1.size(), head.size());
  EXPECT_EQ(row1[1], "run-2-switch_loss=0");
  EXPECT_EQ(row1[5], "2.5");
  EXPECT_EQ(row1[8], "0.6");
  EXPECT_EQ(row1[12], "0.6");   // layer 0 busiest
  EXPECT_EQ(row1[16], "0.4");   // layer 1 busiest
  EXPECT_EQ(row1[19], "3");     // layer 1 dropped
  EXPECT_EQ(csv_cells(csv[3]).size(), head.size());  // the failed run: empty cells

  const std::string val = io::read_file(dir + "/val_loss.svg"), load = io::read_file(dir + "/expert_load.svg");
  EXPECT_NE(io::read_file(dir + "/train_loss.svg").find("<svg"), std::string::npos);
  EXPECT_EQ(val.rfind("<?xml", 0), 0u);
  auto count = [](const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(val, "class=\"series\""), 3u);   // one line per run, even an empty one
  EXPECT_EQ(count(load, "class=\"series\""), 2u);  // runs with MoE layers logged
  EXPECT_NE(load.find("1/E (E = 4)"), std::string::npos);
  EXPECT_NE(val.find("data-name=\"switch_loss=0.1\""), std::string::npos);

  expect_error([&] { train::read_sweep(dir + "/not-a-run"); }, {"no run directories", "not-a-run"});
  expect_error([&] { train::read_sweep(dir + "/missing"); }, {"is not a directory"});
}

TEST(Sweep, BadCombinationsFailBeforeAnyRun) {
  const std::string in = test_tmp_dir("inputs");
  write_tiny_inputs(in);
  train::SweepOptions o;
  o.config_path = in + "/config.json";
  o.data_path = in + "/text.txt";
  o.steps = 2;
  o.quiet = true;

  o.out_dir = test_tmp_dir("typo_leaf");
  o.sets = {"model.ffn.num_experts=2,4", "model.ffn.router.switch_los=0,0.1"};  // unknown leaf: the parser says so
  expect_error([&] { train::run_sweep(o); }, {"run 1/4", "model.ffn.router.switch_los=0", "switch_los"});
  EXPECT_TRUE(fs::is_empty(o.out_dir));

  o.sets = {"model.ffn.ruoter.kind=topk"};  // a parent that does not exist
  EXPECT_EQ(error_of([&] { train::run_sweep(o); }),
            "sweep: cannot set model.ffn.ruoter.kind: model.ffn has no 'ruoter' (it has: expert, kind, num_experts, "
            "router)");

  // Valid JSON types but an invalid model in the second combination only: still nothing runs.
  o.sets = {"model.ffn.router.kind=topk,expert_choice"};
  expect_error([&] { train::run_sweep(o); }, {"run 2/2", "model.ffn.router.kind=expert_choice", "expert_capacity"});
  EXPECT_TRUE(fs::is_empty(o.out_dir));

  o.sets = {"model.ffn.num_experts=two"};  // a string where a number belongs
  expect_error([&] { train::run_sweep(o); }, {"run 1/1", "num_experts"});

  o.sets = {"model.ffn.num_experts=2"};
  fs::create_directories(o.out_dir + "/run-1-num_experts=4");  // never mix with an old sweep's runs
  expect_error([&] { train::run_sweep(o); }, {o.out_dir, "not empty"});
  o.steps = 0;
  expect_error([&] { train::run_sweep(o); }, {"--steps"});
}

TEST(Sweep, TinySweepEndToEnd) {
  const std::string in = test_tmp_dir("inputs");
  write_tiny_inputs(in);
  train::SweepOptions o;
  o.config_path = in + "/config.json";
  o.data_path = in + "/text.txt";
  o.out_dir = test_tmp_dir("out");
  o.sets = {"model.ffn.router.switch_loss=0,0.01"};
  o.steps = 3;
  o.seed = 11;
  o.quiet = true;
  train::SweepOutcome r = train::run_sweep(o);
  EXPECT_EQ(r.runs, 2u);
  EXPECT_EQ(r.failed, 0u);
  for (const char* name : {"run-1-switch_loss=0", "run-2-switch_loss=0.01"}) {
    const std::string run = o.out_dir + "/" + name;
    EXPECT_TRUE(fs::exists(run + "/metrics.jsonl")) << run;
    EXPECT_TRUE(fs::exists(run + "/checkpoint/model.safetensors")) << run;
    const json cfg = json::parse(io::read_file(run + "/sweep_config.json"));
    EXPECT_EQ(cfg["train"]["steps"], 3);
    EXPECT_EQ(cfg["train"]["seed"], 11);
  }
  EXPECT_EQ(json::parse(io::read_file(o.out_dir + "/run-2-switch_loss=0.01/sweep_config.json"))["model"]["ffn"]
                ["router"]["switch_loss"],
            0.01);
  std::vector<train::SweepRunSummary> runs = train::read_sweep(o.out_dir);
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& s : runs) {
    EXPECT_EQ(s.status, "ok");
    EXPECT_EQ(s.steps, 3);
    EXPECT_TRUE(std::isfinite(s.train_loss) && std::isfinite(s.val_loss) && s.tokens_per_s > 0);
    EXPECT_EQ(s.layers.size(), 2u);
    EXPECT_EQ(s.loss.size(), 3u);  // log_every 1
    EXPECT_EQ(s.val.size(), 2u);   // steps 2 and 3 (the last)
    EXPECT_GE(s.busiest(), 0.25);
    EXPECT_LE(s.idlest(), 0.25);
  }
  // Same seed, no dropout, no noise: the aux loss only changes updates, so step 1's loss is shared.
  EXPECT_EQ(runs[0].loss[0], runs[1].loss[0]);
  EXPECT_EQ(lines_of(io::read_file(o.out_dir + "/results.csv")).size(), 3u);
  for (const char* f : {"results.md", "val_loss.svg", "train_loss.svg", "expert_load.svg"})
    EXPECT_TRUE(fs::exists(o.out_dir + "/" + f)) << f;
  EXPECT_EQ(train::write_sweep_report(o.out_dir), r.report_markdown);  // --report regenerates the same
}
