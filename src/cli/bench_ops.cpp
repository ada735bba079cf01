// bench_ops.cpp: `moe bench ops`: the framework's own cost per op, apart from the
// arithmetic: a long chain of tiny elementwise ops (8 floats each), timed without
// autograd, with recording, and through the backward, so each time per op is the cost
// of shape checks, dispatch, allocation and the tape. Run with the storage cache on and
// off in the same process to show what the caching allocator saves. Times are this
// thread's CPU time (the ops are single-threaded: 8 floats never fork), because on the
// shared machine wall time mostly measures the other processes; wall time is printed too.
#include <fmt/core.h>

#include <time.h>

#include <nlohmann/json.hpp>

#include "cli/bench.h"
#include "cli/commands.h"
#include "moe/autograd/autograd.h"
#include "moe/core/storage.h"
#include "moe/moe.h"

namespace moe::cli {

namespace {

struct OpsBench {
  int64_t chain = 10000;
  int64_t width = 8;
  int iters = 9;
  bool json = false;
};
OpsBench g_ops;

struct OpCosts {
  double nograd_ns = 0, record_ns = 0, backward_ns = 0;  // CPU time per op
  double wall_fwd_bwd_ns = 0;                             // wall time per op, recorded + backward
};

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

// Per-op ns of a chain y <- y * 0.999 + b (2 ops per link) over `chain` links.
OpCosts time_chain(const OpsBench& o) {
  Rng rng(0);
  Tensor x = Tensor::randn({o.width}, rng).set_requires_grad(true);
  Tensor b = Tensor::randn({o.width}, rng).set_requires_grad(true);
  const double ops = 2.0 * static_cast<double>(o.chain);
  auto chain = [&] {
    Tensor y = x;
    for (int64_t i = 0; i < o.chain; ++i) y = add(mul(y, 0.999), b);
    return y;
  };
  std::vector<double> nograd, record, backward, wall;
  for (int it = 0; it < o.iters + 1; ++it) {
    double t0 = thread_cpu_ms();
    {
      NoGradGuard ng;
      Tensor y = chain();
    }
    const double t_nograd = thread_cpu_ms() - t0;
    const auto w0 = std::chrono::steady_clock::now();
    t0 = thread_cpu_ms();
    Tensor y = chain();
    const double t_record = thread_cpu_ms() - t0;
    t0 = thread_cpu_ms();
    x.zero_grad();
    b.zero_grad();
    sum(y).backward();
    y = Tensor();  // frees the tape: part of the backward's cost
    const double t_backward = thread_cpu_ms() - t0;
    const double t_wall = elapsed_ms(w0);
    if (it == 0) continue;  // warm-up
    nograd.push_back(t_nograd * 1e6 / ops);
    record.push_back(t_record * 1e6 / ops);
    backward.push_back(t_backward * 1e6 / ops);
    wall.push_back(t_wall * 1e6 / ops);
  }
  return {median(nograd), median(record), median(backward), median(wall)};
}

int run_ops(const OpsBench& o) {
  const bool was_enabled = storage_cache_enabled();
  set_storage_cache_enabled(true);
  OpCosts on = time_chain(o);
  set_storage_cache_enabled(false);
  OpCosts off = time_chain(o);
  set_storage_cache_enabled(was_enabled);
  const StorageStats s = storage_stats();
  fmt::print("bench ops  chain of {} x (mul, add) on {} floats, median of {}, malloc {}\n", o.chain, o.width, o.iters,
             malloc_name());
  fmt::print("  per op, CPU ns      no grad   recorded   backward   fwd+bwd   (wall fwd+bwd)\n");
  for (auto [name, c] : {std::pair{"storage cache on ", on}, {"storage cache off", off}})
    fmt::print("  {}  {:8.0f}   {:8.0f}   {:8.0f}   {:7.0f}   ({:.0f})\n", name, c.nograd_ns, c.record_ns,
               c.backward_ns, c.record_ns + c.backward_ns, c.wall_fwd_bwd_ns);
  fmt::print("  storage: {} allocations, {} from the cache\n", s.allocations, s.cache_hits);
  if (o.json) {
    nlohmann::json j = {{"bench", "ops"},         {"malloc", malloc_name()}, {"chain", o.chain},           {"width", o.width},
                        {"nograd_ns", on.nograd_ns}, {"record_ns", on.record_ns}, {"backward_ns", on.backward_ns},
                        {"fwd_bwd_ns", on.record_ns + on.backward_ns}, {"wall_fwd_bwd_ns", on.wall_fwd_bwd_ns},
                        {"nocache_nograd_ns", off.nograd_ns}, {"nocache_record_ns", off.record_ns},
                        {"nocache_backward_ns", off.backward_ns}};
    fmt::print("{}\n", j.dump());
  }
  return 0;
}

}  // namespace

void setup_bench_ops(CLI::App& bench, std::function<void()> chosen) {
  OpsBench& o = g_ops;
  CLI::App* s = bench.add_subcommand("ops", "Per-op framework cost: a long chain of tiny ops, with and without the tape");
  s->add_option("--chain", o.chain, "Links in the chain (2 ops each)")->check(CLI::PositiveNumber);
  s->add_option("--width", o.width, "Elements per tensor")->check(CLI::PositiveNumber);
  s->add_option("--iters", o.iters, "Timed repetitions (median reported)")->check(CLI::PositiveNumber);
  s->add_flag("--json", o.json, "Print one JSON object as the last line");
  s->callback(std::move(chosen));
}

int run_bench_ops() { return run_ops(g_ops); }

}  // namespace moe::cli
