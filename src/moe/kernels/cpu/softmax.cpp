// cpu/softmax.cpp: float32 softmax family: the ref:: row loops on row chunks in
// parallel (rows are independent, so the result does not depend on the thread count).
#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

// One exp per element dominates: ~16 flops.
static constexpr int64_t kExpCost = 16;

void softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  parallel_for(rows, n * kExpCost, [&](int64_t b, int64_t e) { ref::softmax_rows(x + b * n, y + b * n, e - b, n); });
}

void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t n) {
  parallel_for(rows, n * kExpCost,
               [&](int64_t b, int64_t e) { ref::log_softmax_rows(x + b * n, y + b * n, e - b, n); });
}

void softmax_backward_rows(const float* y, const float* gy, float* gx, int64_t rows, int64_t n) {
  parallel_for(rows, n * 3, [&](int64_t b, int64_t e) {
    ref::softmax_backward_rows(y + b * n, gy + b * n, gx + b * n, e - b, n);
  });
}

void log_softmax_backward_rows(const float* y, const float* gy, float* gx, int64_t rows, int64_t n) {
  parallel_for(rows, n * kExpCost, [&](int64_t b, int64_t e) {
    ref::log_softmax_backward_rows(y + b * n, gy + b * n, gx + b * n, e - b, n);
  });
}

void cross_entropy_rows(const float* logits, const int64_t* target, float* loss, float* lse, int64_t rows,
                        int64_t classes, int64_t ignore_index) {
  parallel_for(rows, classes * kExpCost, [&](int64_t b, int64_t e) {
    ref::cross_entropy_rows(logits + b * classes, target + b, loss + b, lse + b, e - b, classes, ignore_index);
  });
}

void cross_entropy_backward_rows(const float* logits, const int64_t* target, const float* lse, float scale,
                                 float* glogits, int64_t rows, int64_t classes, int64_t ignore_index) {
  parallel_for(rows, classes * kExpCost, [&](int64_t b, int64_t e) {
    ref::cross_entropy_backward_rows(logits + b * classes, target + b, lse + b, scale, glogits + b * classes, e - b,
                                     classes, ignore_index);
  });
}

}  // namespace moe::kernels::cpu
