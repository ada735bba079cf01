// cpu/optim.cpp: float32 optimizer kernels: the ref:: loops on contiguous chunks in
// parallel, one pass over each parameter. Reductions sum fixed-size blocks in order,
// so the result does not depend on the thread count.
#include <algorithm>
#include <cstddef>
#include <vector>

#include <cmath>

#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

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

namespace {

// x[i] = sqrt(x[i]) with vector instructions. Plain std::sqrt loops do not vectorise
// without -fno-math-errno (sqrt of a negative sets errno), which the build leaves on.
void sqrt_inplace(float* x, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#elif defined(__ARM_NEON) && defined(__aarch64__)
  for (; i + 4 <= n; i += 4) vst1q_f32(x + i, vsqrtq_f32(vld1q_f32(x + i)));
#endif
  for (; i < n; ++i) x[i] = std::sqrt(x[i]);
}

// ref::adam_update's arithmetic, operation for operation (the same bits), in blocks of
// kBlock: one vectorised pass for the moments, a vector sqrt, one pass for the step. The
// scalar ref:: loop (a sqrt and a divide per element, no vectorisation) was 10% of a
// char-LM training step (BENCHMARKS.md).
constexpr int64_t kBlock = 256;

// The update's constants, computed once per parameter (std::pow twice: 3% of a NeuroShard
// step when it ran per embedding row).
struct AdamConsts {
  float step_size, bc2_sqrt, b1, b2, eps, one_minus_b1, one_minus_b2, wd, decay_factor;
  bool decoupled, l2;
  explicit AdamConsts(const AdamHyper& h) {
    const double bias_correction1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
    const double bias_correction2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
    step_size = static_cast<float>(h.lr / bias_correction1);
    bc2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
    b1 = static_cast<float>(h.beta1), b2 = static_cast<float>(h.beta2), eps = static_cast<float>(h.eps);
    one_minus_b1 = static_cast<float>(1.0 - h.beta1), one_minus_b2 = static_cast<float>(1.0 - h.beta2);
    wd = static_cast<float>(h.weight_decay), decay_factor = static_cast<float>(1.0 - h.lr * h.weight_decay);
    decoupled = h.decoupled_weight_decay && h.weight_decay != 0.0;
    l2 = !h.decoupled_weight_decay && h.weight_decay != 0.0;
  }
};

void adam_block(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,
                const AdamConsts& c) {
  const float step_size = c.step_size, bc2_sqrt = c.bc2_sqrt, b1 = c.b1, b2 = c.b2, eps = c.eps;
  const float one_minus_b1 = c.one_minus_b1, one_minus_b2 = c.one_minus_b2, wd = c.wd, decay_factor = c.decay_factor;
  const bool decoupled = c.decoupled, l2 = c.l2;
  alignas(64) float root[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t len = std::min(kBlock, n - b);
    float* __restrict pb = p + b;
    float* __restrict mb = m + b;
    float* __restrict vb = v + b;
    const float* __restrict gb = g + b;
    for (int64_t i = 0; i < len; ++i) {
      float gi = gb[i];
      if (decoupled) pb[i] *= decay_factor;
      if (l2) gi += wd * pb[i];
      mb[i] = b1 * mb[i] + one_minus_b1 * gi;
      vb[i] = b2 * vb[i] + one_minus_b2 * gi * gi;
      root[i] = vb[i];
    }
    sqrt_inplace(root, len);
    for (int64_t i = 0; i < len; ++i) pb[i] -= step_size * mb[i] / (root[i] / bc2_sqrt + eps);
  }
}

}  // namespace

void adam_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamHyper& h) {
  const AdamConsts c(h);
  parallel_for(n, 16, [&](int64_t b, int64_t e) { adam_block(p + b, g + b, m + b, v + b, e - b, c); });
}

void adam_update_segments(const AdamSegment* segments, int64_t count) {
  // Thread t of nt updates the t-th contiguous share of EVERY segment (elements, or rows
  // of a row segment), all in one parallel_for over the shares: the threads get equal
  // work whatever the mix of parameters (a whole parameter per thread left one waiting:
  // scattered embedding rows update slower than a contiguous matrix) and each still
  // streams through memory.
  std::vector<AdamConsts> consts;
  consts.reserve(static_cast<size_t>(count));
  int64_t total = 0;
  for (int64_t k = 0; k < count; ++k) {
    consts.emplace_back(segments[k].h);
    total += segments[k].n;
  }
  const int64_t nt = std::max(1, num_threads());
  parallel_for(nt, 16 * total / nt, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t k = 0; k < count; ++k) {
        const AdamSegment& s = segments[k];
        const AdamConsts& c = consts[static_cast<size_t>(k)];
        const int64_t units = s.rows ? s.n / s.row_len : s.n;
        const int64_t b = units * t / nt, e = units * (t + 1) / nt;
        if (!s.rows) {
          adam_block(s.p + b, s.g + b, s.m + b, s.v + b, e - b, c);
          continue;
        }
        for (int64_t r = b; r < e; ++r) {
          const int64_t o = s.rows[r] * s.row_len;
          adam_block(s.p + o, s.g + o, s.m + o, s.v + o, s.row_len, c);
        }
      }
  });
}

namespace {
// Sum of squares in double over 8 interleaved accumulators: independent additions
// vectorise, where ref::'s one running sum is a chain of dependent adds (3% of a char-LM
// step as the gradient-norm clip, BENCHMARKS.md). Agrees with ref:: to rounding.
double sum_squares_block(const float* __restrict x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += static_cast<double>(x[i + j]) * static_cast<double>(x[i + j]);
  double total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) total += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return total;
}
}  // namespace

double sum_squares(const float* x, int64_t n) {
  double total = 0;
  for (double part : reduce_blocks<double>(n, [&](int64_t b, int64_t e) { return sum_squares_block(x + b, e - b); }))
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
