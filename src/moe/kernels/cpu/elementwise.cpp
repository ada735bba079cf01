// cpu/elementwise.cpp: float32 elementwise and reduction kernels: the ref:: loops run
// on contiguous chunks in parallel (the loops are already vectorisable; threads are
// what this layer adds).
#include <vector>

#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

// Transcendentals cost ~10-20 flops per element; plain arithmetic ~1.
static int64_t unary_cost(Unary op) {
  switch (op) {
    case Unary::neg: case Unary::relu: case Unary::abs: case Unary::square: case Unary::sign:
    case Unary::step: return 1;
    default: return 16;
  }
}

void unary(Unary op, const float* x, float* y, int64_t n, float param) {
  parallel_for(n, unary_cost(op), [&](int64_t b, int64_t e) { ref::unary(op, x + b, y + b, e - b, param); });
}

// ReLU's backward, branch-free over non-aliasing arrays so it vectorises (a select per
// lane). The ref:: loop's branch on the sign of x mispredicts half the time on the
// random signs of a hidden layer: it was 8% of a char-LM training step (BENCHMARKS.md).
static void relu_backward(const float* __restrict x, const float* __restrict gy, float* __restrict gx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gy[i];
    gx[i] = x[i] > 0.0f ? g : 0.0f;
  }
}

void unary_backward(Unary op, const float* x, const float* y, const float* gy, float* gx, int64_t n,
                    float param) {
  if (op == Unary::relu && (gx == gy || gx + n <= gy || gy + n <= gx) && (gx + n <= x || x + n <= gx)) {
    if (gx == gy) {  // in place over the incoming gradient: no restrict, still branch-free
      parallel_for(n, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) gx[i] = x[i] > 0.0f ? gx[i] : 0.0f;
      });
    } else {
      parallel_for(n, 1, [&](int64_t b, int64_t e) { relu_backward(x + b, gy + b, gx + b, e - b); });
    }
    return;
  }
  parallel_for(n, unary_cost(op), [&](int64_t b, int64_t e) {
    ref::unary_backward(op, x + b, y ? y + b : nullptr, gy + b, gx + b, e - b, param);
  });
}

void binary(Binary op, const float* a, const float* b, float* out, const Strided& g) {
  parallel_for(g.rows(), g.row_len(), [&](int64_t r0, int64_t r1) { ref::binary(op, a, b, out, g, r0, r1); });
}

void copy_strided(const float* src, float* dst, const Strided& g) {
  parallel_for(g.rows(), g.row_len(), [&](int64_t r0, int64_t r1) { ref::copy_strided(src, dst, g, r0, r1); });
}

void reduce_sum(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  if (outer >= 2 || inner < 2) {
    parallel_for(outer, n * inner, [&](int64_t b, int64_t e) {
      ref::reduce_sum(x + b * n * inner, out + b * inner, e - b, n, inner);
    });
  } else {  // one long reduction (e.g. a bias gradient): split the inner dim
    parallel_for(inner, n, [&](int64_t b, int64_t e) {
      std::vector<double> acc(e - b, 0.0);  // double accumulation, as ref::reduce_sum
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = b; j < e; ++j) acc[j - b] += x[i * inner + j];
      for (int64_t j = b; j < e; ++j) out[j] = static_cast<float>(acc[j - b]);
    });
  }
}

void reduce_max(const float* x, float* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner) {
  parallel_for(outer, n * inner, [&](int64_t b, int64_t e) {
    ref::reduce_max(x + b * n * inner, out + b * inner, argmax ? argmax + b * inner : nullptr, e - b, n, inner);
  });
}

}  // namespace moe::kernels::cpu
