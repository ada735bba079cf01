// bench_gemm.cpp: float32 GEMM throughput, cpu::gemm (OpenBLAS, or the blocked kernel
// in MOE_BLAS=none builds) against the built-in cpu::gemm_blocked, at square sizes and
// at a linear layer's shape (M = tokens 4096, N = 2048 out, K = 512 in; C = X W^T).
// Reports GFLOP/s over wall time (the kernels are multi-threaded). Threads: OMP_NUM_THREADS
// or MOE_NUM_THREADS.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "moe/core/parallel.h"
#include "moe/core/rng.h"
#include "moe/core/tensor.h"
#include "moe/kernels/kernels.h"

namespace {

using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                        float, float*, int64_t);

// args: M, N, K, trans_b
void run_gemm(benchmark::State& state, GemmFn gemm) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const bool trans_b = state.range(3) != 0;
  moe::Rng rng(1);
  std::vector<float> A = moe::Tensor::rand({M, K}, rng, -1, 1).to_vector<float>();
  std::vector<float> B = moe::Tensor::rand({K, N}, rng, -1, 1).to_vector<float>();
  std::vector<float> C(M * N);
  const int64_t ldb = trans_b ? K : N;  // B stored (N, K) when transposed, as a linear weight
  for (auto _ : state) {
    gemm(false, trans_b, M, N, K, 1.0f, A.data(), K, B.data(), ldb, 0.0f, C.data(), N);
    benchmark::DoNotOptimize(C.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * double(M) * double(N) * double(K), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_gemm(benchmark::State& state) {
  state.SetLabel(moe::blas_name());
  run_gemm(state, moe::kernels::cpu::gemm);
}
void BM_gemm_blocked(benchmark::State& state) { run_gemm(state, moe::kernels::cpu::gemm_blocked); }

void shapes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {256, 512, 1024}) b->Args({n, n, n, 0});
  b->Args({4096, 2048, 512, 1});  // linear layer: x (4096, 512) @ W^T, W (2048, 512)
  b->ArgNames({"M", "N", "K", "transB"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_gemm)->Apply(shapes);
BENCHMARK(BM_gemm_blocked)->Apply(shapes);

}  // namespace

int main(int argc, char** argv) {
  const int threads = moe::init_threads_from_env();
  benchmark::AddCustomContext("moe_threads", std::to_string(threads));
  benchmark::AddCustomContext("moe_blas", moe::blas_name());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
