// cpu/scan.cpp: float32 cumulative products: the ref:: row loops on row chunks in
// parallel (rows are independent, so the result does not depend on the thread count).
#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

void cumprod_rows(const float* x, float* y, int64_t rows, int64_t n, bool exclusive) {
  parallel_for(rows, n, [&](int64_t b, int64_t e) { ref::cumprod_rows(x + b * n, y + b * n, e - b, n, exclusive); });
}

void cumprod_backward_rows(const float* x, const float* gy, float* gx, int64_t rows, int64_t n, bool exclusive) {
  parallel_for(rows, n * 3, [&](int64_t b, int64_t e) {
    ref::cumprod_backward_rows(x + b * n, gy + b * n, gx + b * n, e - b, n, exclusive);
  });
}

}  // namespace moe::kernels::cpu
