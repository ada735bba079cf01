// Checkpoints: bit-exact round trip of parameters, optimizer state and run state
// (and an exact resume), refusal of truncated files and of missing, unexpected,
// reshaped or retyped tensors, and crash safety: a failed save leaves the previous
// checkpoint loadable, a directory without state.json is not a checkpoint, and the
// fallback replacement's crash window is reported.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>

#include "moe/io/atomic_file.h"
#include "moe/io/checkpoint.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;
using namespace moe::io;
namespace fs = std::filesystem;

namespace {

fs::path fresh_root(const std::string& name) {
  const fs::path root = fs::temp_directory_path() / "moe_test_checkpoint" / name;
  fs::remove_all(root);
  fs::create_directories(root);
  return root;
}

CheckpointData meta(int64_t step) {
  CheckpointData d;
  d.config_json = "{\"d_model\": 8, \"n_layers\": 2}\n";
  d.tokenizer_json = "{\"kind\": \"char\", \"chars\": [97, 98]}\n";
  d.step = step;
  d.rng_seed = (uint64_t{1} << 63) + 5;  // needs the full uint64 range
  d.rng_offset = 123456789012345ULL;
  d.extra = {{"lr", 3e-4}, {"best_val_loss", 1.25}, {"tokens_seen", 4096}};
  return d;
}

// One Adam step on a small MLP so that parameters and optimizer state are non-trivial.
struct Model {
  Rng rng;
  nn::MLP mlp;
  optim::Adam adam;
  explicit Model(uint64_t seed) : rng(seed), mlp(4, 8, 3, "relu", rng), adam(mlp.named_parameters(), {}) {}
  void step(uint64_t data_seed) {
    adam.zero_grad();
    sum(mlp(rand32({5, 4}, data_seed))).backward();
    adam.step();
  }
};

void expect_bit_equal(const NamedTensors& a, const NamedTensors& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    ASSERT_EQ(a[i].second.shape(), b[i].second.shape()) << a[i].first;
    ASSERT_EQ(a[i].second.dtype(), b[i].second.dtype()) << a[i].first;
    const Tensor x = a[i].second.contiguous(), y = b[i].second.contiguous();
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), x.numel() * dtype_size(x.dtype())), 0) << a[i].first;
  }
}


}  // namespace

TEST(Checkpoint, RoundTripIsBitExactAndResumesExactly) {
  const std::string dir = (fresh_root("roundtrip") / "ckpt").string();
  Model a(1);
  a.step(10);
  a.step(11);
  save_checkpoint(dir, meta(2), a.mlp.named_parameters(), &a.adam.state_dict());
  for (const char* f : {"config.json", "tokenizer.json", "model.safetensors", "optimizer.safetensors", "state.json"})
    EXPECT_TRUE(fs::exists(fs::path(dir) / f)) << f;

  CheckpointData got = read_checkpoint_meta(dir);
  EXPECT_EQ(got.config_json, meta(2).config_json);
  EXPECT_EQ(got.tokenizer_json, meta(2).tokenizer_json);
  EXPECT_EQ(got.step, 2);
  EXPECT_EQ(got.rng_seed, meta(2).rng_seed);
  EXPECT_EQ(got.rng_offset, meta(2).rng_offset);
  EXPECT_EQ(got.extra, meta(2).extra);
  EXPECT_TRUE(got.has_optimizer_state);

  Model b(99);  // different initial weights, fresh optimizer
  load_params(dir, b.mlp.named_parameters());
  load_optimizer_state(dir, b.adam.state_dict());
  expect_bit_equal(b.mlp.named_parameters(), a.mlp.named_parameters());
  expect_bit_equal(b.adam.state_dict(), a.adam.state_dict());
  // The loads went into the live tensors: the next step is identical too.
  a.step(12);
  b.step(12);
  expect_bit_equal(b.mlp.named_parameters(), a.mlp.named_parameters());
}

TEST(Checkpoint, WithoutOptimizerState) {
  const std::string dir = (fresh_root("noopt") / "ckpt").string();
  Model a(1);
  save_checkpoint(dir, meta(0), a.mlp.named_parameters());
  EXPECT_FALSE(fs::exists(fs::path(dir) / "optimizer.safetensors"));
  EXPECT_FALSE(read_checkpoint_meta(dir).has_optimizer_state);
  Model b(2);
  expect_error([&] { load_optimizer_state(dir, b.adam.state_dict()); }, {"no optimizer state", dir});
}

TEST(Checkpoint, RefusesMismatchedTensorsWithoutTouchingTheModel) {
  const std::string dir = (fresh_root("mismatch") / "ckpt").string();
  const std::string file = (fs::path(dir) / "model.safetensors").string();
  Model a(1);
  save_checkpoint(dir, meta(0), a.mlp.named_parameters());

  Model b(2);
  const NamedTensors before = [&] {
    NamedTensors c;
    for (const auto& [n, t] : b.mlp.named_parameters()) c.emplace_back(n, t.clone());
    return c;
  }();
  NamedTensors params = b.mlp.named_parameters();

  NamedTensors extra = params;
  extra.emplace_back("fc3.weight", Tensor::zeros({2, 2}));
  expect_error([&] { load_params(dir, extra); }, {file, "missing tensor 'fc3.weight'"});

  NamedTensors fewer(params.begin(), params.end() - 1);
  expect_error([&] { load_params(dir, fewer); }, {file, "unexpected tensor '" + params.back().first + "'"});

  NamedTensors reshaped = params;
  reshaped[0].second = Tensor::zeros({8, 5});
  expect_error([&] { load_params(dir, reshaped); }, {file, "'" + params[0].first + "'", "[8, 4]", "[8, 5]"});

  NamedTensors retyped = params;
  retyped[1].second = Tensor::zeros(params[1].second.shape(), DType::f64);
  expect_error([&] { load_params(dir, retyped); }, {file, "'" + params[1].first + "'", "float64"});

  // Every refusal happened before any copy (the first tensor matched each time).
  expect_bit_equal(b.mlp.named_parameters(), before);
}

TEST(Checkpoint, RefusesTruncatedAndCorruptFilesNamingThem) {
  const std::string dir = (fresh_root("truncated") / "ckpt").string();
  const std::string file = (fs::path(dir) / "model.safetensors").string();
  Model a(1);
  save_checkpoint(dir, meta(0), a.mlp.named_parameters());
  const std::string bytes = read_file(file);
  Model b(2);
  write_file_atomic(file, bytes.substr(0, bytes.size() - 7));
  expect_error([&] { load_params(dir, b.mlp.named_parameters()); }, {file});
  write_file_atomic(file, bytes.substr(0, 5));
  expect_error([&] { load_params(dir, b.mlp.named_parameters()); }, {file, "truncated"});
  write_file_atomic(file, "");
  expect_error([&] { load_params(dir, b.mlp.named_parameters()); }, {file});
}

TEST(Checkpoint, FailedSaveLeavesThePreviousCheckpointIntact) {
  const fs::path root = fresh_root("failed_save");
  const std::string dir = (root / "ckpt").string();
  Model a(1);
  save_checkpoint(dir, meta(5), a.mlp.named_parameters(), &a.adam.state_dict());

  // The new save throws midway: the model file is written, the optimizer file fails
  // on an invalid tensor name, state.json is never reached.
  Model b(2);
  b.step(3);
  NamedTensors bad_state = b.adam.state_dict();
  bad_state.emplace_back("", Tensor::zeros({1}));
  expect_error([&] { save_checkpoint(dir, meta(6), b.mlp.named_parameters(), &bad_state); },
               {"invalid tensor name", "previous checkpoint"});
  CheckpointData bad_config = meta(6);
  bad_config.config_json = "{not json";
  expect_error([&] { save_checkpoint(dir, bad_config, b.mlp.named_parameters()); }, {"model config", "not valid JSON"});

  EXPECT_EQ(read_checkpoint_meta(dir).step, 5);
  Model c(3);
  load_params(dir, c.mlp.named_parameters());
  load_optimizer_state(dir, c.adam.state_dict());
  expect_bit_equal(c.mlp.named_parameters(), a.mlp.named_parameters());
  expect_bit_equal(c.adam.state_dict(), a.adam.state_dict());
  // The failed saves cleaned up after themselves: only the checkpoint is left.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"ckpt"});
}

TEST(Checkpoint, OverwritingReplacesTheWholeDirectory) {
  const fs::path root = fresh_root("overwrite");
  const std::string dir = (root / "ckpt").string();
  Model a(1), b(2);
  save_checkpoint(dir, meta(1), a.mlp.named_parameters(), &a.adam.state_dict());
  save_checkpoint(dir + "/", meta(2), b.mlp.named_parameters());  // a trailing slash names the same directory
  EXPECT_EQ(read_checkpoint_meta(dir).step, 2);
  // A file of the previous checkpoint does not leak into the new one.
  EXPECT_FALSE(fs::exists(fs::path(dir) / "optimizer.safetensors"));
  Model c(3);
  load_params(dir, c.mlp.named_parameters());
  expect_bit_equal(c.mlp.named_parameters(), b.mlp.named_parameters());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"ckpt"});
}

TEST(Checkpoint, ReplaceDirectoryWithAndWithoutExchange) {
  for (bool exchange : {true, false}) {
    const fs::path root = fresh_root(exchange ? "replace_exchange" : "replace_fallback");
    fs::create_directories(root / "dir");
    write_file_atomic((root / "dir" / "old.txt").string(), "old");
    fs::create_directories(root / "fresh");
    write_file_atomic((root / "fresh" / "new.txt").string(), "new");
    detail::replace_directory((root / "fresh").string(), (root / "dir").string(), exchange);
    EXPECT_EQ(read_file((root / "dir" / "new.txt").string()), "new");
    EXPECT_FALSE(fs::exists(root / "dir" / "old.txt"));
    EXPECT_FALSE(fs::exists(root / "fresh"));
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root)) names.push_back(e.path().filename().string());
    EXPECT_EQ(names, std::vector<std::string>{"dir"}) << "exchange " << exchange;
  }
}

TEST(Checkpoint, IncompleteDirectoriesAreNotCheckpoints) {
  const fs::path root = fresh_root("incomplete");
  const std::string dir = (root / "ckpt").string();
  expect_error([&] { read_checkpoint_meta(dir); }, {dir, "does not exist"});
  Model a(1);
  save_checkpoint(dir, meta(4), a.mlp.named_parameters());
  const std::string state = (fs::path(dir) / "state.json").string();
  const std::string good = read_file(state);

  // The fallback's crash window: DIR renamed aside, the new one not yet in place.
  const fs::path old = root / "ckpt.old-4242";
  fs::rename(dir, old);
  expect_error([&] { read_checkpoint_meta(dir); }, {dir, "does not exist", old.string()});
  fs::rename(old, dir);

  fs::remove(state);
  expect_error([&] { read_checkpoint_meta(dir); }, {"not a complete checkpoint", "state.json is missing"});
  write_file_atomic(state, "{\"format\": \"moe.checkpoint\", \"version\": 1");
  expect_error([&] { read_checkpoint_meta(dir); }, {state, "not valid JSON"});
  std::string unknown = good;
  unknown.insert(1, "\"stepp\": 3, ");
  write_file_atomic(state, unknown);
  expect_error([&] { read_checkpoint_meta(dir); }, {state, "unknown key", "stepp"});
  std::string version = good;
  version.replace(version.find("\"version\": 1"), 12, "\"version\": 9");
  write_file_atomic(state, version);
  expect_error([&] { read_checkpoint_meta(dir); }, {state, "version 9"});
  write_file_atomic(state, good);
  EXPECT_EQ(read_checkpoint_meta(dir).step, 4);
}

TEST(Checkpoint, SaveRemovesLeftoversOfDeadProcesses) {
  const fs::path root = fresh_root("leftovers");
  const std::string dir = (root / "ckpt").string();
  // 999999999 is above any pid_max, so no such process runs.
  fs::create_directories(root / "ckpt.tmp-999999999");
  fs::create_directories(root / "ckpt.old-999999999");
  // Our own pid's stale temp directory (an earlier save of this process that died).
  fs::create_directories(root / ("ckpt.tmp-" + std::to_string(::getpid())));
  fs::create_directories(root / "other.tmp-999999999");  // not ours: kept
  Model a(1);
  save_checkpoint(dir, meta(1), a.mlp.named_parameters());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"ckpt", "other.tmp-999999999"}));
}
