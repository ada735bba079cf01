// parallel.h: the thread count and the one parallel_for every CPU kernel uses.
// OpenMP with an if() clause: on tiny work a fork/join costs more than the op.
// Static chunking, so a given thread count always splits work the same way.
#pragma once
#include <omp.h>

#include <cstdint>

namespace moe {

// Sets OpenMP's and OpenBLAS's thread counts (n >= 1).
void set_num_threads(int n);
int num_threads();
// Reads MOE_NUM_THREADS (if set) and applies it; returns the count in force.
int init_threads_from_env();
// True inside a parallel region (kernels then stay single-threaded).
bool in_parallel_region();
// The OpenBLAS threading model: 0 sequential, 1 pthreads, 2 OpenMP, -1 no OpenBLAS.
int blas_parallel_mode();
const char* blas_name();

// Below this much work (elements x cost) a loop runs on one thread.
inline constexpr int64_t kParallelGrain = 32768;

// Calls fn(begin, end) over [0, n) in contiguous chunks, in parallel when
// n * cost_per_item exceeds kParallelGrain.
template <class F>
void parallel_for(int64_t n, int64_t cost_per_item, F&& fn) {
  if (n <= 0) return;
  const bool par = n > 1 && n * cost_per_item > kParallelGrain && !omp_in_parallel();
  if (!par) {
    fn(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t b = tid * chunk, e = b + chunk < n ? b + chunk : n;
    if (b < e) fn(b, e);
  }
}

}  // namespace moe
