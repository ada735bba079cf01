// Language-model training end to end on a tiny config: resume equals an uninterrupted
// run bit for bit; checkpoints reload exactly; eval follows its definition; generation
// with a fixed seed is reproducible; sampling options behave; a bpe tokenizer is trained,
// saved in the checkpoint and reused on resume.
#include <filesystem>
#include <fstream>

#include "moe/io/atomic_file.h"
#include "moe/models/lm_session.h"
#include "moe/train/lm_trainer.h"
#include "moe/train/metrics_log.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;
namespace fs = std::filesystem;

namespace {

// A fresh directory inside this test's own scratch directory.
std::string tmp(const std::string& name) { return test_tmp_dir(name); }

// A tiny MoE LM config with dropout and noisy routing (everything random is exercised).
std::string write_fixture_files() {
  std::string dir = tmp("inputs");
  fs::create_directories(dir);
  io::write_file_atomic(dir + "/config.json", R"({
    "model": {"context": 8, "d_model": 16, "heads": 2, "layers": 2, "dropout": 0.1,
              "ffn": {"kind": "moe", "num_experts": 4,
                      "router": {"kind": "noisy_topk", "top_k": 2, "importance_loss": 0.01, "bias_update_rate": 0.05},
                      "expert": {"kind": "ffn", "d_ff": 32}}},
    "train": {"batch_size": 4, "steps": 12, "warmup": 2, "lr": 3e-3, "log_every": 2, "eval_every": 6,
              "eval_batches": 2, "checkpoint_every": 100, "seed": 5}})");
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the whale swam in the sea; ishmael watched. ";
  io::write_file_atomic(dir + "/text.txt", text);
  return dir;
}

std::vector<std::vector<float>> params_of(const std::string& ckpt) {
  models::LMSession s(ckpt);
  std::vector<std::vector<float>> out;
  for (auto& [n, t] : s.model().named_parameters()) out.push_back(t.to_vector<float>());
  return out;
}

}  // namespace

TEST(TrainLM, ResumeEqualsUninterrupted) {
  std::string in = write_fixture_files();
  train::TrainOptions a;
  a.config_path = in + "/config.json";
  a.data_path = in + "/text.txt";
  a.out_dir = tmp("straight");
  a.quiet = true;
  train::TrainResult ra = train::train_lm(a);

  train::TrainOptions b = a;
  b.out_dir = tmp("interrupted");
  b.stop_after = 6;
  train::train_lm(b);
  train::TrainOptions c = a;
  c.config_path.clear();
  c.out_dir = b.out_dir;
  c.resume_dir = b.out_dir + "/checkpoint";
  train::TrainResult rc = train::train_lm(c);

  EXPECT_EQ(ra.final_loss, rc.final_loss);
  EXPECT_EQ(ra.final_val_loss, rc.final_val_loss);
  EXPECT_EQ(params_of(ra.checkpoint_dir), params_of(rc.checkpoint_dir));
  // The metrics of the resumed part equal the uninterrupted run's, line by line.
  auto ma = train::read_metrics(a.out_dir + "/metrics.jsonl"), mc = train::read_metrics(c.out_dir + "/metrics.jsonl");
  ASSERT_EQ(ma.size(), mc.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    EXPECT_EQ(ma[i]["step"], mc[i]["step"]);
    EXPECT_EQ(ma[i]["loss"], mc[i]["loss"]);
    EXPECT_EQ(ma[i]["layers"][0]["tokens_per_expert"], mc[i]["layers"][0]["tokens_per_expert"]);
  }
  EXPECT_TRUE(ma.back().contains("val_loss"));
  // A finished run refuses to resume without more steps.
  EXPECT_THROW(train::train_lm(c), Error);
}

TEST(TrainLM, EvalFollowsItsDefinition) {
  std::string in = write_fixture_files();
  train::TrainOptions a;
  a.config_path = in + "/config.json";
  a.data_path = in + "/text.txt";
  a.out_dir = tmp("for_eval");
  a.quiet = true;
  a.steps = 2;
  std::string ckpt = train::train_lm(a).checkpoint_dir;
  models::LMSession s(ckpt);
  std::vector<int64_t> tokens = s.tokenizer().encode("call me ishmael. some years ago, never mind how long");  // 52 chars
  train::EvalResult r = train::evaluate_lm(s.model(), tokens, 2);
  // By hand: windows of 9 tokens at 0, 8, 16, ...; 52 tokens give 6 windows (the 7th needs tokens 48..56).
  const int64_t T = 8, V = s.model().config().vocab_size;
  double total = 0;
  int64_t n = 0;
  s.model().eval();
  NoGradGuard ng;
  for (int64_t w = 0; (w + 1) * T + 1 <= static_cast<int64_t>(tokens.size()); ++w) {
    std::vector<int64_t> x(tokens.begin() + w * T, tokens.begin() + w * T + T);
    Tensor logp = log_softmax(s.model().forward(Tensor::from_vector(x, {1, T})), -1);
    for (int64_t t = 0; t < T; ++t) total -= logp.at({0, t, tokens[w * T + t + 1]}), ++n;
  }
  EXPECT_EQ(n, 48);
  EXPECT_EQ(r.tokens, 48);
  EXPECT_NEAR(r.loss, total / n, 1e-5);
  EXPECT_THROW(train::evaluate_lm(s.model(), {1, 2, 3}), Error);  // shorter than one window
}

TEST(TrainLM, GenerationIsReproducibleAndReportsExperts) {
  std::string in = write_fixture_files();
  train::TrainOptions a;
  a.config_path = in + "/config.json";
  a.data_path = in + "/text.txt";
  a.out_dir = tmp("for_generate");
  a.quiet = true;
  a.steps = 2;
  models::LMSession s(train::train_lm(a).checkpoint_dir);
  Rng r1(9), r2(9);
  models::SamplingOptions opt;
  opt.temperature = 0.8;
  opt.top_k = 5;
  int calls = 0;
  std::string g1 = s.generate("the wh", 30, opt, r1, [&](const std::string&, const models::TokenRouting& r) {
    ++calls;
    ASSERT_EQ(r.experts.size(), 2u);     // two MoE layers
    EXPECT_EQ(r.experts[0].size(), 2u);  // top-2
  });
  EXPECT_EQ(calls, 30);
  EXPECT_EQ(g1, s.generate("the wh", 30, opt, r2));
  EXPECT_NO_THROW(s.generate("unknown chars: ZQ€", 3, opt, r1));  // mapped to <unk>
  EXPECT_NO_THROW(s.generate("", 3, opt, r1));
}

TEST(TrainLM, BpeTokenizerIsTrainedSavedAndReloaded) {
  std::string in = write_fixture_files();
  std::string config = io::read_file(in + "/config.json");
  config.insert(config.rfind('}'), R"(, "tokenizer": {"kind": "bpe", "vocab_size": 300})");
  io::write_file_atomic(in + "/bpe.json", config);
  train::TrainOptions a;
  a.config_path = in + "/bpe.json";
  a.data_path = in + "/text.txt";
  a.out_dir = tmp("bpe");
  a.quiet = true;
  a.stop_after = 2;
  std::string ckpt = train::train_lm(a).checkpoint_dir;
  models::LMSession s(ckpt);
  EXPECT_EQ(s.tokenizer().kind(), "bpe");
  EXPECT_EQ(s.tokenizer().vocab_size(), 300);
  EXPECT_EQ(s.model().config().vocab_size, 300);
  const std::string text = io::read_file(in + "/text.txt");
  EXPECT_LT(s.tokenizer().encode(text).size(), text.size() / 2);  // merges learned from the text
  EXPECT_EQ(s.tokenizer().decode(s.tokenizer().encode("ZQ\xFF€ whale")), "ZQ\xFF€ whale");
  Rng r1(3), r2(3);
  EXPECT_EQ(s.generate("the wh", 10, {}, r1), s.generate("the wh", 10, {}, r2));
  // Resuming reuses the checkpoint's tokenizer (not retrained) and its run config.
  train::TrainOptions c = a;
  c.config_path.clear();
  c.stop_after.reset();
  c.steps = 4;
  c.resume_dir = ckpt;
  train::train_lm(c);
  EXPECT_EQ(io::read_file(ckpt + "/tokenizer.json"), s.tokenizer().to_json());
  EXPECT_EQ(train::RunConfig::parse_file(a.out_dir + "/config.json").tokenizer.to_json(),
            nlohmann::json({{"kind", "bpe"}, {"vocab_size", 300}}));
}

TEST(TrainLM, BadInputsAreClearErrors) {
  std::string in = write_fixture_files();
  train::TrainOptions a;
  a.config_path = in + "/config.json";
  a.data_path = in + "/missing.txt";
  a.out_dir = tmp("bad");
  a.quiet = true;
  EXPECT_THROW(train::train_lm(a), Error);
  a.data_path = in + "/text.txt";
  a.config_path = in + "/nope.json";
  EXPECT_THROW(train::train_lm(a), Error);
  EXPECT_THROW(models::LMSession s(in), Error);  // not a checkpoint
}

TEST(Sampling, Options) {
  std::vector<float> logits{0.1f, 2.0f, 1.0f, 2.0f};
  Rng rng(1);
  EXPECT_EQ(models::sample_next(logits, {.temperature = 0}, rng), 1);  // greedy; tie -> lower id
  EXPECT_EQ(models::sample_next(logits, {.temperature = 1, .top_k = 1}, rng), 1);
  EXPECT_EQ(models::sample_next(logits, {.temperature = 1, .top_k = 0, .top_p = 0.01}, rng), 1);
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 4000; ++i) ++counts[models::sample_next(logits, {.temperature = 1, .top_k = 3}, rng)];
  EXPECT_EQ(counts[0], 0);                 // outside the top 3
  EXPECT_NEAR(counts[1] / 4000.0, std::exp(2.0) / (2 * std::exp(2.0) + std::exp(1.0)), 0.03);
  EXPECT_THROW(models::sample_next(logits, {.temperature = -1}, rng), Error);
  EXPECT_THROW(models::sample_next(logits, {.temperature = 1, .top_k = 0, .top_p = 0}, rng), Error);
}
