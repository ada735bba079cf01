// bench_generate.cpp: `moe bench generate`: token-by-token generation speed of LM configs
// (randomly initialised: the speed does not depend on the weights), with the key/value
// cache (TransformerLM::forward_cached, what LMSession::generate runs) against
// recomputing the whole window per token (the path before the cache). Reports tokens/s
// over a long run (window restarts included) and the cost of a token early and late in
// the window, to show it does not grow with the tokens before it.
#include <fmt/core.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/bench.h"
#include "cli/commands.h"
#include "moe/autograd/autograd.h"
#include "moe/core/parallel.h"
#include "moe/models/transformer_lm.h"
#include "moe/train/lm_trainer.h"

namespace moe::cli {

namespace {

struct GenerateBench {
  std::vector<std::string> configs = {"configs/noisy_topk_char_lm.json", "configs/cycle_shared_code_lm.json"};
  int64_t tokens = 0;  // 0: 4 contexts' worth
  int threads = 0;
  bool json = false;
};
GenerateBench g_generate;

int64_t argmax_last(const Tensor& logits) {
  const int64_t n = logits.size(1), V = logits.size(2);
  const float* p = logits.select(1, n - 1).contiguous().data<float>();
  return std::max_element(p, p + V) - p;
}

struct GenerateTiming {
  double tokens_per_s = 0;           // tokens / total time (window restarts included; noise too)
  double median_tokens_per_s = 0;    // 1 / the median token's time (robust on a shared machine)
  double early_ms = 0, late_ms = 0;  // median per-token ms in the first / last quarter of a window
};

// Greedy generation after a one-token prompt, one token per next() call, returning its
// time. Cached: LMSession's policy (a full window restarts from its last ceil(T/2)
// tokens); uncached: the last T tokens rerun every step.
struct Generator {
  models::TransformerLM& model;
  bool cached;
  std::vector<int64_t> ids{1};
  models::DecodeState state;
  int64_t start = 0;
  int64_t position = 0;  // of the last token's input within its window

  double next() {
    const int64_t T = model.config().context, size = static_cast<int64_t>(ids.size());
    auto t0 = std::chrono::steady_clock::now();
    Tensor logits;
    if (cached && state.length > 0 && size - start <= T) {
      logits = model.forward_cached(Tensor::from_vector(std::vector<int64_t>{ids.back()}, {1, 1}), state);
    } else {
      if (cached && state.length > 0) start = size - (T - T / 2);
      if (!cached) start = std::max<int64_t>(0, size - T);
      std::vector<int64_t> window(ids.begin() + start, ids.end());
      const Tensor w = Tensor::from_vector(window, {1, size - start});
      if (cached) {
        state.clear();
        logits = model.forward_cached(w, state);
      } else {
        logits = model.forward(w);
      }
    }
    position = size - 1 - start;
    ids.push_back(argmax_last(logits));
    return elapsed_ms(t0);
  }
};

// Runs the cached and the uncached generator in lockstep (one token each in turn), so
// both see the same machine load; `n` tokens each.
std::pair<GenerateTiming, GenerateTiming> time_generation(models::TransformerLM& model, int64_t n) {
  const int64_t T = model.config().context;
  Generator gens[2] = {{model, true}, {model, false}};
  std::vector<double> early[2], late[2], all[2];
  for (int64_t i = 0; i < n; ++i)
    for (int g = 0; g < 2; ++g) {
      const double ms = gens[g].next();
      all[g].push_back(ms);
      if (gens[g].position >= 1 && gens[g].position < T / 4) early[g].push_back(ms);
      if (gens[g].position >= T - T / 4) late[g].push_back(ms);
    }
  GenerateTiming out[2];
  for (int g = 0; g < 2; ++g) {
    double total = 0;
    for (double ms : all[g]) total += ms;
    out[g] = {static_cast<double>(n) / (total * 1e-3), 1e3 / median(all[g]), median(early[g]), median(late[g])};
  }
  return {out[0], out[1]};
}

int run_generate(const GenerateBench& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& path : o.configs) {
    train::RunConfig run = train::RunConfig::parse_file(path);
    if (run.model.vocab_size == 0)
      run.model.vocab_size = run.tokenizer.kind == "bpe" && run.tokenizer.vocab_size > 0 ? run.tokenizer.vocab_size
                                                                                          : 65;
    Rng init(0);
    models::TransformerLM model(run.model, init);
    model.eval();
    model.set_expert_choice_per_token(true);
    NoGradGuard no_grad;
    const int64_t T = run.model.context, n = o.tokens > 0 ? o.tokens : 4 * T;
    time_generation(model, T);  // warm-up
    auto [cached, full] = time_generation(model, n);
    fmt::print("bench generate  {}  context {} layers {} d_model {} vocab {}  threads {}  {} tokens\n", path, T,
               run.model.layers, run.model.d_model, run.model.vocab_size, num_threads(), n);
    for (auto [name, t] : {std::pair{"kv cache   ", cached}, {"full window", full}})
      fmt::print("  {}  {:7.0f} tokens/s ({:.0f} at the median token)   per token: {:.3f} ms early, {:.3f} ms "
                 "late in the window\n",
                 name, t.tokens_per_s, t.median_tokens_per_s, t.early_ms, t.late_ms);
    fmt::print("  speedup {:.2f} (at the median token {:.2f})\n", cached.tokens_per_s / full.tokens_per_s,
               cached.median_tokens_per_s / full.median_tokens_per_s);
    results.push_back({{"config", path},
                       {"context", T},
                       {"tokens", n},
                       {"tokens_per_s", cached.tokens_per_s},
                       {"median_tokens_per_s", cached.median_tokens_per_s},
                       {"uncached_median_tokens_per_s", full.median_tokens_per_s},
                       {"early_ms", cached.early_ms},
                       {"late_ms", cached.late_ms},
                       {"uncached_tokens_per_s", full.tokens_per_s},
                       {"uncached_early_ms", full.early_ms},
                       {"uncached_late_ms", full.late_ms},
                       {"speedup", cached.tokens_per_s / full.tokens_per_s}});
  }
  if (o.json) fmt::print("{}\n", nlohmann::json{{"bench", "generate"}, {"threads", num_threads()},
                                               {"results", results}}.dump());
  return 0;
}

}  // namespace

void setup_bench_generate(CLI::App& bench, std::function<void()> chosen) {
  GenerateBench& o = g_generate;
  CLI::App* s = bench.add_subcommand("generate", "Generation tokens/s with the key/value cache vs the full window");
  s->add_option("--config", o.configs, "LM configs (JSON); default: the char LM and the cycle-shared LM")
      ->check(CLI::ExistingFile);
  s->add_option("--tokens", o.tokens, "Tokens to generate (default: 4 contexts)")->check(CLI::PositiveNumber);
  s->add_option("--threads", o.threads, "Thread count for this benchmark")->check(CLI::PositiveNumber);
  s->add_flag("--json", o.json, "Print one JSON object as the last line");
  s->callback(std::move(chosen));
}

int run_bench_generate() { return run_generate(g_generate); }

}  // namespace moe::cli
