// bench_train.cpp: `moe bench train`: the training step of a language-model config
// (forward, loss, backward, the NaN check, clipping, AdamW: what `moe train` does per
// step) on random tokens, timed; its FLOPs counted from the shapes (docs/performance.md), set against
// the machine's sgemm peak and against the step's own GEMMs replayed alone, both
// sampled between the steps; peak memory against the tensor bytes the step needs;
// optionally the same at 1 thread, interleaved, for the scaling.
#include <fmt/core.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/bench.h"
#include "cli/commands.h"
#include "moe/autograd/autograd.h"
#include "moe/core/parallel.h"
#include "moe/core/storage.h"
#include "moe/kernels/cpu/gemm_log.h"
#include "moe/moe.h"
#include "moe/models/transformer_lm.h"
#include "moe/optim/adam.h"
#include "moe/optim/clip.h"
#include "moe/train/lm_trainer.h"

namespace moe::cli {

namespace {

struct TrainBench {
  std::string config;
  int64_t steps = 20;
  int64_t vocab = 65;  // when the config leaves vocab_size to the tokenizer: a char LM's alphabet
  int threads = 0;     // 0: the global setting
  bool scaling = false;
  bool skip_peak = false;  // profiling runs: time the steps only
  bool json = false;
};
TrainBench g_train;

// FLOPs of one training step counted from the shapes (docs/performance.md): the matrix
// products and the attention, forward x 3 (the backward computes two products per
// forward product: the input's gradient and the weight's). Elementwise work, norms,
// softmax and the optimizer are left out (they are O(parameters + activations), not
// O(products)). The experts count the rows actually routed (`routed_rows`, summed over
// logical layers), so capacity drops and expert choice are counted as run.
double train_gflop(const models::TransformerLM& model, int64_t B, int64_t T, int64_t routed_rows) {
  const models::LMConfig& c = model.config();
  const double N = static_cast<double>(B * T), C = static_cast<double>(c.d_model);
  const double L = static_cast<double>(c.layers), V = static_cast<double>(c.vocab_size);
  double fwd = 0;
  fwd += L * 2 * N * C * 3 * C;                                  // qkv projection
  fwd += L * 2 * N * C * C;                                      // output projection
  fwd += L * 2 * 2 * B * (T * (T + 1) / 2.0) * C;                // q k^T and p v, causal (keys <= t)
  fwd += 2 * N * C * V;                                          // LM head
  if (c.ffn == "dense") {
    fwd += L * 2 * N * C * c.d_ff * 2;
  } else {
    const std::vector<MoELayer*> layers = model.moe_layers();
    const MoELayer& m = *layers.front();
    const double E = static_cast<double>(c.moe.num_experts);
    const double gates = c.moe.router.kind == "noisy_topk" ? 2 : 1;  // clean + noise projections
    const bool learned = c.moe.router.kind != "fixed" && c.moe.router.kind != "hash";
    if (learned) fwd += L * 2 * N * C * E * gates;
    const double macs = static_cast<double>(m.experts().macs_per_token());
    fwd += 2 * static_cast<double>(routed_rows) * macs;
    fwd += L * 2 * N * macs * static_cast<double>(c.moe.num_shared_experts);
  }
  return 3 * fwd * 1e-9;
}

struct StepTiming {
  int threads = 1;
  double ms_per_step = 0;
  double gflop = 0;
  double peak_gflops = 0;  // sgemm 1024^3, sampled between the steps
  double gemm_ms = 0;      // the step's GEMMs replayed alone (its bare arithmetic), sampled likewise
  double efficiency() const { return peak_gflops > 0 ? gflop / (ms_per_step * 1e-3) / peak_gflops : 0.0; }
};

struct TrainMeasurement {
  std::vector<StepTiming> per_threads;  // one per thread count, in the order asked
  int64_t peak_tensor_bytes = 0;        // live tensor memory at its highest during the timed steps
  int64_t rss_before_model = 0;         // resident memory before the model (sgemm operands included)
  int64_t peak_rss = 0;
};

// Times `steps` training steps at each thread count of `thread_counts`, interleaved (one
// step at each count in turn), with one sgemm peak sample and one replay of the step's
// GEMMs after each step: on a shared machine the load drifts, and interleaving makes
// every ratio (efficiency, GEMM share, thread speedup) compare samples taken together.
TrainMeasurement measure(const train::RunConfig& run, int64_t steps, const std::vector<int>& thread_counts,
                         bool with_peak) {
  const int64_t B = run.train.batch_size, T = run.model.context, V = run.model.vocab_size;
  const int64_t n_peak = 1024;
  Rng peak_rng(1);
  Tensor peak_a, peak_b;
  if (with_peak) {
    NoGradGuard ng;
    peak_a = Tensor::randn({n_peak, n_peak}, peak_rng), peak_b = Tensor::randn({n_peak, n_peak}, peak_rng);
    (void)matmul(peak_a, peak_b);
  }
  TrainMeasurement m;
  m.rss_before_model = current_rss_bytes();
  Rng rng(run.train.seed);
  models::TransformerLM model(run.model, rng);
  model.train();
  optim::AdamW opt(model.named_parameters(), {.lr = run.train.lr, .beta1 = run.train.beta1,
                                              .beta2 = run.train.beta2, .eps = 1e-8,
                                              .weight_decay = run.train.weight_decay});
  Tensor inputs = Tensor::empty({B, T}, DType::i64), targets = Tensor::empty({B, T}, DType::i64);
  int64_t routed_rows = 0;
  auto step = [&] {
    // Random tokens: the speed does not depend on the text.
    for (int64_t* p : {inputs.data<int64_t>(), targets.data<int64_t>()})
      for (int64_t i = 0; i < B * T; ++i) p[i] = static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(V));
    opt.zero_grad();
    Tensor logits = model.forward(inputs, &rng);
    Tensor loss = cross_entropy(logits.reshape({-1, V}), targets.reshape({-1}));
    Tensor aux = model.aux_loss();
    Tensor total = aux.defined() ? add(loss, aux) : loss;
    (void)loss.item();
    total.backward();
    MOE_CHECK(!optim::check_finite_and_clip(opt.params(), run.train.grad_clip), "bench train: a gradient is not finite");
    opt.step();
    routed_rows = 0;
    for (const RouterOutput& r : model.layer_routing()) routed_rows += r.plan.expert_offsets.back();
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up: optimizer state, allocator, OpenMP pool
  std::vector<kernels::cpu::GemmShape> log;  // the GEMMs of one step
  kernels::cpu::set_gemm_log(&log);
  step();
  kernels::cpu::set_gemm_log(nullptr);
  reset_peak_storage_bytes();
  const size_t nt = thread_counts.size();
  std::vector<std::vector<double>> ms(nt), gflop(nt), peak(nt), replay(nt);
  for (int64_t i = 0; i < steps; ++i) {
    for (size_t k = 0; k < nt; ++k) {
      set_num_threads(thread_counts[k]);
      auto t0 = std::chrono::steady_clock::now();
      step();
      ms[k].push_back(elapsed_ms(t0));
      gflop[k].push_back(train_gflop(model, B, T, routed_rows));
      if (!with_peak) continue;
      NoGradGuard ng;
      t0 = std::chrono::steady_clock::now();
      (void)matmul(peak_a, peak_b);
      peak[k].push_back(2.0 * n_peak * n_peak * n_peak / (elapsed_ms(t0) * 1e6));
      replay[k].push_back(kernels::cpu::replay_gemms_ms(log, 1));
    }
  }
  set_num_threads(thread_counts.front());
  m.peak_tensor_bytes = storage_stats().peak_bytes;
  m.peak_rss = peak_rss_bytes();
  for (size_t k = 0; k < nt; ++k)
    m.per_threads.push_back({thread_counts[k], median(ms[k]), median(gflop[k]), median(peak[k]), median(replay[k])});
  return m;
}

int run_train(const TrainBench& o) {
  MOE_CHECK(!o.config.empty(), "bench train: --config is required");
  train::RunConfig run = train::RunConfig::parse_file(o.config);
  if (run.model.vocab_size == 0) run.model.vocab_size = o.vocab;
  const int64_t B = run.train.batch_size, T = run.model.context;
  if (o.threads > 0) set_num_threads(o.threads);
  const int threads = num_threads();
  std::vector<int> counts{threads};
  if (o.scaling && threads > 1) counts.push_back(1);

  TrainMeasurement m = measure(run, o.steps, counts, !o.skip_peak);
  const StepTiming& t = m.per_threads.front();
  Rng init(0);
  const int64_t params = models::TransformerLM(run.model, init).num_parameters();
  const int64_t state_bytes = 4 * params * 4;  // parameters, gradients and the two AdamW moments
  auto tokens_per_s = [&](const StepTiming& s) { return static_cast<double>(B * T) / (s.ms_per_step * 1e-3); };

  fmt::print("bench train  {}  batch {} context {} layers {} d_model {}  threads {}\n", o.config, B, T,
             run.model.layers, run.model.d_model, threads);
  for (const StepTiming& s : m.per_threads) {
    fmt::print("  {} thread{}: step {:.2f} ms (median of {})  {:.0f} tokens/s\n", s.threads, s.threads > 1 ? "s" : "",
               s.ms_per_step, o.steps, tokens_per_s(s));
    fmt::print("    {:.3f} GFLOP/step  achieved {:.1f} GFLOP/s  sgemm peak {:.1f} GFLOP/s  efficiency {:.3f}\n", s.gflop,
               s.gflop / (s.ms_per_step * 1e-3), s.peak_gflops, s.efficiency());
    fmt::print("    the step's GEMMs alone: {:.2f} ms ({:.0f}% of the step)\n", s.gemm_ms,
               100.0 * s.gemm_ms / s.ms_per_step);
  }
  const double rss_ratio = static_cast<double>(m.peak_rss - m.rss_before_model) /
                           static_cast<double>(std::max<int64_t>(1, m.peak_tensor_bytes));
  fmt::print("  memory: peak RSS {:.1f} MiB ({:.1f} MiB before the model); peak live tensors {:.1f} MiB "
             "(parameters+gradients+AdamW moments {:.1f} MiB, {} parameters); RSS over tensors {:.2f}\n",
             m.peak_rss / 1048576.0, m.rss_before_model / 1048576.0, m.peak_tensor_bytes / 1048576.0,
             state_bytes / 1048576.0, params, rss_ratio);
  nlohmann::json j = {{"bench", "train"},
                      {"config", o.config},
                      {"threads", threads},
                      {"batch", B},
                      {"context", T},
                      {"steps", o.steps},
                      {"ms_per_step", t.ms_per_step},
                      {"tokens_per_s", tokens_per_s(t)},
                      {"gflop_per_step", t.gflop},
                      {"achieved_gflops", t.gflop / (t.ms_per_step * 1e-3)},
                      {"peak_gflops", t.peak_gflops},
                      {"efficiency", t.efficiency()},
                      {"gemm_replay_ms", t.gemm_ms},
                      {"gemm_share", t.gemm_ms / t.ms_per_step},
                      {"parameters", params},
                      {"state_bytes", state_bytes},
                      {"peak_tensor_bytes", m.peak_tensor_bytes},
                      {"rss_before_model_bytes", m.rss_before_model},
                      {"peak_rss_bytes", m.peak_rss},
                      {"rss_over_tensors", rss_ratio}};
  if (m.per_threads.size() > 1) {
    const StepTiming& one = m.per_threads[1];
    fmt::print("  speedup {} threads / 1: {:.2f} (sgemm {:.2f})\n", threads, one.ms_per_step / t.ms_per_step,
               one.peak_gflops > 0 ? t.peak_gflops / one.peak_gflops : 0.0);
    j["one_thread_ms_per_step"] = one.ms_per_step;
    j["one_thread_tokens_per_s"] = tokens_per_s(one);
    j["one_thread_peak_gflops"] = one.peak_gflops;
    j["one_thread_efficiency"] = one.efficiency();
    j["speedup"] = one.ms_per_step / t.ms_per_step;
  }
  if (o.json) fmt::print("{}\n", j.dump());
  return 0;
}

}  // namespace

void setup_bench_train(CLI::App& bench, std::function<void()> chosen) {
  TrainBench& o = g_train;
  CLI::App* s = bench.add_subcommand("train", "Training step of an LM config: tokens/s, GFLOP/s vs the sgemm peak, "
                                              "memory");
  s->add_option("--config", o.config, "Model + train config (JSON)")->required()->check(CLI::ExistingFile);
  s->add_option("--steps", o.steps, "Timed steps (median reported; 3 warm-up steps before)")
      ->check(CLI::PositiveNumber);
  s->add_option("--vocab", o.vocab, "Vocabulary size when the config leaves it to the tokenizer")
      ->check(CLI::PositiveNumber);
  s->add_option("--threads", o.threads, "Thread count for this benchmark")->check(CLI::PositiveNumber);
  s->add_flag("--scaling", o.scaling, "Also time the step on 1 thread (interleaved) and report the speedup");
  s->add_flag("--skip-peak", o.skip_peak, "Do not measure the sgemm peak (profiling the steps alone)");
  s->add_flag("--json", o.json, "Print one JSON object as the last line");
  s->callback(std::move(chosen));
}

int run_bench_train() { return run_train(g_train); }

}  // namespace moe::cli
