// ops/grouped_linear.h: one linear map per contiguous row segment, with the weights of
// all E segments stacked: the expert GEMMs of an MoE layer after its tokens are sorted
// by expert. One GEMM per non-empty segment forward, three backward; no copies.
#pragma once
#include <vector>

#include "moe/core/tensor.h"

namespace moe {

// x: (A, in) with rows [offsets[e], offsets[e+1]) belonging to segment e;
// offsets: E + 1 non-decreasing values from 0 to A; weight: (E, out, in) as PyTorch's
// Linear per segment; bias: (E, out) or undefined. Returns (A, out) with
// y[r] = x[r] W_e^T + b_e for r in segment e.
Tensor grouped_linear(const Tensor& x, const std::vector<int64_t>& offsets, const Tensor& weight,
                      const Tensor& bias = Tensor());

}  // namespace moe
