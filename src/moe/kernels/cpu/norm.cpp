// cpu/norm.cpp: float32 layer norm and RMS norm: the ref:: row loops on row chunks in
// parallel. The backward's weight/bias gradients are sums over all rows: each chunk
// writes its own partial buffer and the partials are added in chunk order at the end,
// so the result is the same bit for bit on every run with a given thread count (no
// atomics, no order-dependent reductions).
#include <algorithm>
#include <vector>

#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

namespace {

// ~8 flops per element, forward or backward.
constexpr int64_t kNormCost = 8;

// How many row chunks (and partial buffers) a backward over rows x C uses: one per
// thread when the work is worth threads, else one.
int64_t chunk_count(int64_t rows, int64_t C) {
  if (rows * C * kNormCost <= kParallelGrain || in_parallel_region()) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(rows, num_threads()));
}

// Calls fn(chunk, row_begin, row_end, partial_weight, partial_bias) for each chunk in
// parallel, then writes gweight/gbias as the sums of the partials in chunk order.
template <class F>
void rows_with_partials(int64_t rows, int64_t C, float* gweight, float* gbias, F&& fn) {
  const int64_t chunks = chunk_count(rows, C);
  if (chunks == 1) {  // write straight into the outputs
    fn(int64_t{0}, rows, gweight, gbias);
    return;
  }
  const int64_t per_chunk = (rows + chunks - 1) / chunks;
  std::vector<float> partial_w(gweight ? chunks * C : 0), partial_b(gbias ? chunks * C : 0);
  // One chunk per item: parallel_for's cost is the whole chunk, so it always forks.
  parallel_for(chunks, kParallelGrain + 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t b = c * per_chunk, e = std::min(rows, b + per_chunk);
      float* pw = gweight ? partial_w.data() + c * C : nullptr;
      float* pb = gbias ? partial_b.data() + c * C : nullptr;
      if (b < e) {
        fn(b, e, pw, pb);
      } else {  // an empty chunk contributes zeros
        for (int64_t j = 0; pw && j < C; ++j) pw[j] = 0;
        for (int64_t j = 0; pb && j < C; ++j) pb[j] = 0;
      }
    }
  });
  auto reduce = [&](const std::vector<float>& partial, float* out) {
    for (int64_t j = 0; j < C; ++j) out[j] = partial[j];
    for (int64_t c = 1; c < chunks; ++c)
      for (int64_t j = 0; j < C; ++j) out[j] += partial[c * C + j];
  };
  if (gweight) reduce(partial_w, gweight);
  if (gbias) reduce(partial_b, gbias);
}

}  // namespace

void layer_norm_rows(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                     int64_t rows, int64_t C, float eps) {
  parallel_for(rows, C * kNormCost, [&](int64_t b, int64_t e) {
    ref::layer_norm_rows(x + b * C, weight, bias, y + b * C, mean + b, rstd + b, e - b, C, eps);
  });
}

void layer_norm_backward_rows(const float* x, const float* weight, const float* mean, const float* rstd,
                              const float* gy, float* gx, float* gweight, float* gbias, int64_t rows, int64_t C) {
  rows_with_partials(rows, C, gweight, gbias, [&](int64_t b, int64_t e, float* pw, float* pb) {
    ref::layer_norm_backward_rows(x + b * C, weight, mean + b, rstd + b, gy + b * C, gx + b * C, pw, pb, e - b, C);
  });
}

void rms_norm_rows(const float* x, const float* weight, float* y, float* rstd, int64_t rows, int64_t C, float eps) {
  parallel_for(rows, C * kNormCost, [&](int64_t b, int64_t e) {
    ref::rms_norm_rows(x + b * C, weight, y + b * C, rstd + b, e - b, C, eps);
  });
}

void rms_norm_backward_rows(const float* x, const float* weight, const float* rstd, const float* gy, float* gx,
                            float* gweight, int64_t rows, int64_t C) {
  rows_with_partials(rows, C, gweight, nullptr, [&](int64_t b, int64_t e, float* pw, float*) {
    ref::rms_norm_backward_rows(x + b * C, weight, rstd + b, gy + b * C, gx + b * C, pw, e - b, C);
  });
}

}  // namespace moe::kernels::cpu
