// bench_linear.cpp: a linear layer forward+backward against the same machine's sgemm
// peak. Reports GFLOP/s; the ratio linear/peak is the number BENCHMARKS.md tracks.
//   ./build/bench_linear --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "moe/kernels/kernels.h"
#include "moe/moe.h"

using namespace moe;

// Plain sgemm M x N x K through the kernel layer: the machine's GEMM ceiling.
static void BM_SgemmPeak(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  Rng rng(0);
  Tensor a = Tensor::randn({M, K}, rng), b = Tensor::randn({K, N}, rng), c = Tensor::zeros({M, N});
  for (auto _ : state) {
    kernels::cpu::gemm(false, false, M, N, K, 1.0f, a.data<float>(), K, b.data<float>(), N, 0.0f, c.data<float>(), N);
    benchmark::DoNotOptimize(c.data<float>());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * N * K * state.iterations() * 1e-9, benchmark::Counter::kIsRate);
}

// y = x W^T + b, then dx, dW, db: 3 GEMMs of 2*M*N*K flops each.
static void BM_LinearForwardBackward(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  Rng rng(0);
  Tensor x = Tensor::randn({M, K}, rng).set_requires_grad(true);
  Tensor w = Tensor::randn({N, K}, rng, 0.02).set_requires_grad(true);
  Tensor b = Tensor::zeros({N}).set_requires_grad(true);
  Tensor gy = Tensor::randn({M, N}, rng);
  for (auto _ : state) {
    x.zero_grad(), w.zero_grad(), b.zero_grad();
    Tensor y = linear(x, w, b);
    y.backward(gy);
    benchmark::DoNotOptimize(w.grad().data<float>());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * M * N * K * state.iterations() * 1e-9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_SgemmPeak)->Args({2048, 2048, 2048})->Args({4096, 2048, 512})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LinearForwardBackward)->Args({4096, 2048, 512})->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
