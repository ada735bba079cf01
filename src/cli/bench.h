// bench.h: shared pieces of the `moe bench` subcommands (one file per benchmark:
// bench.cpp moe-layer and the command itself, bench_train.cpp, bench_generate.cpp,
// bench_small.cpp, bench_ops.cpp): timing helpers, the sgemm peak, and each benchmark's setup/run pair.
#pragma once
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace moe::cli {

// Median of a sample (the sample is sorted in place).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

inline double elapsed_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// OpenBLAS sgemm GFLOP/s on an n x n x n product at the current thread count: the
// median of `iters` products after one warm-up (the machine's practical peak).
double sgemm_peak_gflops(int64_t n = 1024, int iters = 7);

// Peak resident set size of this process so far (VmHWM), in bytes.
int64_t peak_rss_bytes();
// Current resident set size (VmRSS), in bytes.
int64_t current_rss_bytes();

// Each benchmark adds its subcommand to `bench`; `chosen` is called when it is picked.
void setup_bench_train(CLI::App& bench, std::function<void()> chosen);
int run_bench_train();
void setup_bench_generate(CLI::App& bench, std::function<void()> chosen);
int run_bench_generate();
void setup_bench_small(CLI::App& bench, std::function<void()> chosen);
int run_bench_small();
void setup_bench_ops(CLI::App& bench, std::function<void()> chosen);
int run_bench_ops();

}  // namespace moe::cli
