// bench_ops.cpp: the fused ops' speed: layernorm and softmax-cross-entropy in GB/s of
// their compulsory traffic (one read of the input and one write of the output forward,
// one read of input and gradient and one write backward), and causal attention in
// GFLOP/s.   ./build/bench_ops --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "moe/moe.h"
#include "moe/ops/attention.h"
#include "moe/ops/loss.h"
#include "moe/ops/norm.h"

using namespace moe;

static void BM_LayerNormForwardBackward(benchmark::State& state) {
  const int64_t rows = state.range(0), C = state.range(1);
  Rng rng(0);
  Tensor x = Tensor::randn({rows, C}, rng).set_requires_grad(true);
  Tensor w = Tensor::ones({C}).set_requires_grad(true), b = Tensor::zeros({C}).set_requires_grad(true);
  Tensor gy = Tensor::randn({rows, C}, rng);
  for (auto _ : state) {
    x.zero_grad(), w.zero_grad(), b.zero_grad();
    layer_norm(x, w, b).backward(gy);
    benchmark::DoNotOptimize(x.grad().data<float>());
  }
  // forward: read x, write y; backward: read x, gy, write gx (4 B each).
  state.counters["GB/s"] = benchmark::Counter(5.0 * rows * C * 4 * state.iterations() * 1e-9, benchmark::Counter::kIsRate);
}

static void BM_SoftmaxCrossEntropy(benchmark::State& state) {
  const int64_t rows = state.range(0), V = state.range(1);
  Rng rng(0);
  Tensor logits = Tensor::randn({rows, V}, rng).set_requires_grad(true);
  std::vector<int64_t> t(rows);
  for (auto& v : t) v = rng.randint(0, V);
  Tensor targets = Tensor::from_vector(t, {rows});
  for (auto _ : state) {
    logits.zero_grad();
    cross_entropy(logits, targets).backward();
    benchmark::DoNotOptimize(logits.grad().data<float>());
  }
  // forward: read logits; backward: read logits, write the gradient.
  state.counters["GB/s"] = benchmark::Counter(3.0 * rows * V * 4 * state.iterations() * 1e-9, benchmark::Counter::kIsRate);
}

static void BM_CausalAttention(benchmark::State& state) {
  const int64_t B = state.range(0), H = state.range(1), T = state.range(2), D = state.range(3);
  Rng rng(0);
  Tensor q = Tensor::randn({B, H, T, D}, rng).set_requires_grad(true);
  Tensor k = Tensor::randn({B, H, T, D}, rng).set_requires_grad(true);
  Tensor v = Tensor::randn({B, H, T, D}, rng).set_requires_grad(true);
  Tensor gy = Tensor::randn({B, H, T, D}, rng);
  for (auto _ : state) {
    q.zero_grad(), k.zero_grad(), v.zero_grad();
    attention(q, k, v, true).backward(gy);
    benchmark::DoNotOptimize(q.grad().data<float>());
  }
  // Causal: about half of the T x T scores. Forward QK^T and PV, backward 4 products.
  const double flops = 6.0 * 2.0 * B * H * (T * (T + 1) / 2.0) * D;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * state.iterations() * 1e-9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_LayerNormForwardBackward)->Args({4096, 512})->Args({512, 128})->UseRealTime();
BENCHMARK(BM_SoftmaxCrossEntropy)->Args({512, 65})->Args({4096, 8192})->UseRealTime();
BENCHMARK(BM_CausalAttention)->Args({16, 8, 32, 16})->Args({8, 8, 256, 64})->UseRealTime();

BENCHMARK_MAIN();
