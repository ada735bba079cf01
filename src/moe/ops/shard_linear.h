// ops/shard_linear.h: NeuroShard's layer (models/neuroshard.h) as one op:
//   y = x W^T + sum_s alpha_s (x V_s^T) U_s^T
// with x (B, D), alpha (B, S), W (D, D), U (S, D, R), V (S, R, D) -> y (B, D).
// The composite of views, products and elementwise ops it replaces was a dozen tiny ops
// per layer and per text, each with its dispatch, allocation and tape entry: most of a
// NeuroShard step (BENCHMARKS.md). The same products are computed (three in the forward,
// six in the backward, through the GEMM kernels) and the rest in plain loops.
// CPU (float32, float64) only.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

Tensor shard_linear(const Tensor& x, const Tensor& alpha, const Tensor& w, const Tensor& u, const Tensor& v);

}  // namespace moe
