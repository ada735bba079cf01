// cpu/index.cpp: float32 index kernels: the ref:: loops run on chunks in parallel.
//
// Determinism (DESIGN.md: no atomics whose order changes results): the accumulating
// kernels (index_add, scatter_add, hence the embedding backward) split the work over
// (outer slice, inner column) pairs, never over k. Every output element is then owned
// by one thread and sums its contributions in ascending k, exactly as ref:: does, so
// the result is bit-identical to ref:: for any thread count. The price: a (V, D)
// embedding gradient with D < 16 runs on one thread (columns are split in 64-byte
// blocks so threads never share a cache line); sorting ids by row would parallelise
// over V instead, and is not worth its lines at our sizes.
#include <algorithm>

#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

namespace {

// Calls fn(o, k_begin, k_end) over the (outer, K) rows, split in parallel chunks.
template <class F>
void for_row_spans(int64_t outer, int64_t K, int64_t cost_per_row, F&& fn) {
  parallel_for(outer * K, cost_per_row, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e;) {
      const int64_t o = r / K, k0 = r % K, k1 = std::min(K, k0 + (e - r));
      fn(o, k0, k1);
      r += k1 - k0;
    }
  });
}

constexpr int64_t kColBlock = 16;  // floats per 64-byte cache line

// Calls fn(o, col_begin, col_end) over (outer, column block) pairs, in parallel.
template <class F>
void for_column_spans(int64_t outer, int64_t K, int64_t inner, F&& fn) {
  const int64_t blocks = (inner + kColBlock - 1) / kColBlock;
  parallel_for(outer * blocks, K * kColBlock, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e;) {
      const int64_t o = i / blocks, blk0 = i % blocks, blk1 = std::min(blocks, blk0 + (e - i));
      fn(o, blk0 * kColBlock, std::min(inner, blk1 * kColBlock));
      i += blk1 - blk0;
    }
  });
}

}  // namespace

void index_select(const float* x, const int64_t* index, float* out, int64_t outer, int64_t n, int64_t K,
                  int64_t inner) {
  for_row_spans(outer, K, inner, [&](int64_t o, int64_t k0, int64_t k1) {
    ref::index_select(x + o * n * inner, index + k0, out + (o * K + k0) * inner, 1, n, k1 - k0, inner);
  });
}

void index_add(float* out, const int64_t* index, const float* src, int64_t outer, int64_t n, int64_t K,
               int64_t inner) {
  for_column_spans(outer, K, inner, [&](int64_t o, int64_t c0, int64_t c1) {
    ref::index_add(out + o * n * inner, index, src + o * K * inner, 1, n, K, inner, c0, c1);
  });
}

void gather(const float* x, const int64_t* index, float* out, int64_t outer, int64_t n, int64_t K,
            int64_t inner) {
  for_row_spans(outer, K, inner, [&](int64_t o, int64_t k0, int64_t k1) {
    const int64_t first = (o * K + k0) * inner;
    ref::gather(x + o * n * inner, index + first, out + first, 1, n, k1 - k0, inner);
  });
}

void scatter_add(float* out, const int64_t* index, const float* src, int64_t outer, int64_t n, int64_t K,
                 int64_t inner) {
  for_column_spans(outer, K, inner, [&](int64_t o, int64_t c0, int64_t c1) {
    const int64_t first = o * K * inner;
    ref::scatter_add(out + o * n * inner, index + first, src + first, 1, n, K, inner, c0, c1);
  });
}

void topk(const float* x, float* values, int64_t* indices, int64_t rows, int64_t n, int64_t k, bool largest) {
  parallel_for(rows, n * 4, [&](int64_t b, int64_t e) {
    ref::topk(x + b * n, values + b * k, indices + b * k, e - b, n, k, largest);
  });
}

void where_into(const float* mask, const float* a, float* out, const Strided& g) {
  parallel_for(g.rows(), g.row_len(), [&](int64_t r0, int64_t r1) { ref::where_into(mask, a, out, g, r0, r1); });
}

}  // namespace moe::kernels::cpu
