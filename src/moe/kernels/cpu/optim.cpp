// cpu/optim.cpp: float32 optimizer kernels: the ref:: loops on contiguous chunks in
// parallel, one pass over each parameter. Reductions sum fixed-size blocks in order,
// so the result does not depend on the thread count.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

namespace {
constexpr int64_t kReduceBlock = 16384;

// Runs reduce(begin, end) on each fixed block in parallel; returns the block results.
template <class R, class F>
std::vector<R> reduce_blocks(int64_t n, F&& reduce) {
  const int64_t blocks = (n + kReduceBlock - 1) / kReduceBlock;
  std::vector<R> partial(static_cast<size_t>(blocks));
  parallel_for(blocks, kReduceBlock, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t begin = b * kReduceBlock, end = std::min(n, begin + kReduceBlock);
      partial[static_cast<size_t>(b)] = reduce(begin, end);
    }
  });
  return partial;
}
}  // namespace

void sgd_update(float* p, const float* g, float* momentum_buf, int64_t n, const SgdHyper& h) {
  parallel_for(n, 4, [&](int64_t b, int64_t e) {
    ref::sgd_update(p + b, g + b, momentum_buf ? momentum_buf + b : nullptr, e - b, h);
  });
}

void adam_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamHyper& h) {
  parallel_for(n, 16, [&](int64_t b, int64_t e) { ref::adam_update(p + b, g + b, m + b, v + b, e - b, h); });
}

double sum_squares(const float* x, int64_t n) {
  double total = 0;
  for (double part : reduce_blocks<double>(n, [&](int64_t b, int64_t e) { return ref::sum_squares(x + b, e - b); }))
    total += part;
  return total;
}

void scale_inplace(float* x, int64_t n, float s) {
  parallel_for(n, 1, [&](int64_t b, int64_t e) { ref::scale_inplace(x + b, e - b, s); });
}

bool all_finite(const float* x, int64_t n) {
  // vector<char>, not vector<bool>: blocks are written from several threads.
  for (char ok : reduce_blocks<char>(n, [&](int64_t b, int64_t e) { return ref::all_finite(x + b, e - b); }))
    if (!ok) return false;
  return true;
}

}  // namespace moe::kernels::cpu
