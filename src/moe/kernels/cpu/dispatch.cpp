// cpu/dispatch.cpp: the ref:: dispatch loops over row chunks in parallel. Each output
// row is written by one thread in a fixed order: no atomics, same bits for any thread count.
#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

void gather_rows(const float* x, const int64_t* rows, int64_t A, int64_t D, float* out) {
  parallel_for(A, D, [&](int64_t b, int64_t e) { ref::gather_rows(x, rows, D, out, b, e); });
}

void combine_rows(const float* ys, const float* w, const int64_t* off, const int64_t* pos, int64_t N, int64_t D,
                  float* out) {
  parallel_for(N, 2 * D, [&](int64_t b, int64_t e) { ref::combine_rows(ys, w, off, pos, D, out, b, e); });
}

void combine_backward(const float* g, const float* ys, const float* w, const int64_t* token, int64_t A, int64_t D,
                      float* dys, float* dw) {
  parallel_for(A, 2 * D, [&](int64_t b, int64_t e) { ref::combine_backward(g, ys, w, token, D, dys, dw, b, e); });
}

}  // namespace moe::kernels::cpu
