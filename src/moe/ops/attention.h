// ops/attention.h: fused multi-head scaled dot-product self-attention (one pass per
// head), with a dedicated backward kernel.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// q, k, v: (B, H, T, D), any strides -> (B, H, T, D):
//   softmax(q k^T / sqrt(D)) v per (batch, head), with row t seeing keys <= t if causal.
// Saves the (B, H, T, T) softmax probabilities for the backward: memory grows as T^2,
// fine for the CPU contexts (T <= a few thousand); a flash-style recompute is the CUDA
// kernel's business.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal);

// qkv: (B, T, 3, H, D), any strides (a view of MHA's one (B, T, 3 H D) projection) ->
// (B, H, T, D): attention(q, k, v, causal) with q, k, v = qkv[:, :, i] permuted to
// (B, H, T, D). Its one backward writes dq, dk, dv straight into one qkv-shaped
// gradient: three select()s of the projection would each build a zero-filled
// projection-sized gradient and the tape would sum the three (BENCHMARKS.md, issue 8).
Tensor attention_packed(const Tensor& qkv, bool causal);

}  // namespace moe
