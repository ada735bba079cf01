// bench.cpp: `moe bench <what>`: end-to-end benchmarks that print numbers (and, with
// --json, one JSON object as the last line). Benchmarks never fail for being slow.
//   moe bench moe-layer   MoE layer forward+backward vs a dense FFN of the same useful FLOPs
//   moe bench train       an LM training step: tokens/s, efficiency vs sgemm, memory (bench_train.cpp)
//   moe bench generate    generation tokens/s with the key/value cache (bench_generate.cpp)
//   moe bench small       small models' step vs their bare GEMMs (bench_small.cpp)
//   moe bench ops         the per-op cost of the framework itself (bench_ops.cpp)
// This file also holds the shared helpers of bench.h (sgemm peak, resident memory).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/bench.h"
#include "cli/commands.h"
#include "moe/autograd/autograd.h"
#include "moe/moe.h"
#include "moe/moe/moe_layer.h"

namespace moe::cli {

double sgemm_peak_gflops(int64_t n, int iters) {
  Rng rng(0);
  NoGradGuard no_grad;
  Tensor a = Tensor::randn({n, n}, rng), b = Tensor::randn({n, n}, rng);
  std::vector<double> ms;
  for (int i = 0; i <= iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Tensor c = matmul(a, b);
    if (i > 0) ms.push_back(elapsed_ms(t0));
  }
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / (median(ms) * 1e6);
}

namespace {
// A "Key:   123 kB" line of /proc/self/status, in bytes (0 where unavailable).
int64_t proc_status_kb(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1)) * 1024;
  return 0;
}
}  // namespace

int64_t peak_rss_bytes() { return proc_status_kb("VmHWM"); }
int64_t current_rss_bytes() { return proc_status_kb("VmRSS"); }

namespace {

struct MoeLayerBench {
  int64_t tokens = 4096, d_model = 256, d_ff = 1024, experts = 8, top_k = 2;
  std::string router = "topk";
  int iters = 10;
  bool json = false;
};

// Median wall time in ms of fn() over `iters` runs after 2 warm-up runs.
template <class F>
double median_ms(int iters, F&& fn) {
  for (int i = 0; i < 2; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int run_moe_layer(const MoeLayerBench& o) {
  Rng rng(0);
  MoEConfig c;
  c.d_model = o.d_model;
  c.num_experts = o.experts;
  c.router.kind = o.router;
  c.router.top_k = o.top_k;
  if (o.router == "expert_choice") c.router.capacity_factor = 1.0;
  c.expert.kind = "ffn";
  c.expert.d_ff = o.d_ff;
  c.expert.activation = "relu";
  MoELayer layer(c, rng);
  const int64_t k = layer.router().experts_per_token();
  // The dense FFN doing the same useful work: hidden width k * d_ff.
  nn::MLP dense(o.d_model, k * o.d_ff, o.d_model, "relu", rng);
  Tensor x = Tensor::randn({o.tokens, o.d_model}, rng).set_requires_grad(true);
  Tensor gy = Tensor::randn({o.tokens, o.d_model}, rng);
  Rng noise(1);
  RouteInputs in;
  in.rng = &noise;

  double moe_ms = median_ms(o.iters, [&] {
    x.zero_grad();
    for (auto& p : layer.parameters()) p.zero_grad();
    layer.forward(x, in).backward(gy);
  });
  double dense_ms = median_ms(o.iters, [&] {
    x.zero_grad();
    for (auto& p : dense.parameters()) p.zero_grad();
    dense(x).backward(gy);
  });
  const RoutingStats& s = layer.stats();
  // Useful FLOPs of fwd+bwd: 3 GEMM passes x 2 flops x tokens x k x (2 D F).
  const double gflop = 3.0 * 2.0 * o.tokens * k * 2.0 * o.d_model * o.d_ff * 1e-9;
  fmt::print("moe-layer  tokens {} d_model {} d_ff {} experts {} top-k {} router {} threads {}\n", o.tokens,
             o.d_model, o.d_ff, o.experts, k, o.router, num_threads());
  fmt::print("  moe   fwd+bwd {:8.2f} ms  {:6.1f} GFLOP/s  (load max/mean {:.2f}, dropped {})\n", moe_ms,
             gflop / (moe_ms * 1e-3), s.max_over_mean, s.dropped);
  fmt::print("  dense fwd+bwd {:8.2f} ms  {:6.1f} GFLOP/s  (hidden {} = k x d_ff)\n", dense_ms,
             gflop / (dense_ms * 1e-3), k * o.d_ff);
  fmt::print("  ratio moe/dense {:.3f}\n", moe_ms / dense_ms);
  if (o.json) {
    nlohmann::json j = {{"bench", "moe-layer"}, {"tokens", o.tokens}, {"d_model", o.d_model}, {"d_ff", o.d_ff},
                        {"experts", o.experts}, {"top_k", k}, {"router", o.router}, {"threads", num_threads()},
                        {"moe_ms", moe_ms}, {"dense_equiv_ms", dense_ms}, {"ratio", moe_ms / dense_ms},
                        {"gflop", gflop}, {"max_over_mean_load", s.max_over_mean}};
    fmt::print("{}\n", j.dump());
  }
  return 0;
}

}  // namespace

Command bench_command() {
  auto layer = std::make_shared<MoeLayerBench>();
  auto which = std::make_shared<std::string>();
  Command c;
  c.setup = [layer, which](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("bench", "Benchmarks (print numbers; never fail for being slow)");
    sub->require_subcommand(1);
    CLI::App* m = sub->add_subcommand("moe-layer", "MoE layer fwd+bwd vs a dense FFN of hidden k*d_ff");
    m->add_option("--tokens", layer->tokens, "Tokens per batch")->check(CLI::PositiveNumber);
    m->add_option("--d-model", layer->d_model, "Model width")->check(CLI::PositiveNumber);
    m->add_option("--d-ff", layer->d_ff, "Expert hidden width")->check(CLI::PositiveNumber);
    m->add_option("--experts", layer->experts, "Number of experts")->check(CLI::PositiveNumber);
    m->add_option("--top-k", layer->top_k, "Experts per token")->check(CLI::PositiveNumber);
    m->add_option("--router", layer->router, "Router: topk, noisy_topk, switch, expert_choice, dense_softmax");
    m->add_option("--iters", layer->iters, "Timed iterations (median reported)")->check(CLI::PositiveNumber);
    m->add_flag("--json", layer->json, "Print one JSON object as the last line");
    m->callback([which] { *which = "moe-layer"; });
    setup_bench_train(*sub, [which] { *which = "train"; });
    setup_bench_generate(*sub, [which] { *which = "generate"; });
    setup_bench_small(*sub, [which] { *which = "small"; });
    setup_bench_ops(*sub, [which] { *which = "ops"; });
    return sub;
  };
  c.run = [layer, which]() -> int {
    if (*which == "moe-layer") return run_moe_layer(*layer);
    if (*which == "train") return run_bench_train();
    if (*which == "generate") return run_bench_generate();
    if (*which == "small") return run_bench_small();
    if (*which == "ops") return run_bench_ops();
    throw Error("moe bench: choose what to benchmark (moe-layer, train, generate, small, ops)");
  };
  return c;
}

}  // namespace moe::cli
