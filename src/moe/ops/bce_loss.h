// ops/bce_loss.h: binary cross-entropy on logits (torch's
// binary_cross_entropy_with_logits), optionally restricted to masked positions: the
// loss of the DNC copy task's output phase.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// Mean over the positions where mask != 0 (weighted by mask) of
//   -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))) = softplus(x) - x y,
// the stable form: softplus is max(x, 0) + log1p(exp(-|x|)), so large |x| never
// overflows or takes log(0). logits, targets: same shape and float dtype; mask:
// undefined (every position) or broadcastable to logits (e.g. (T, B, 1) against
// (T, B, C)). Returns a 0-dim tensor; 0 (with zero gradients) when the mask is all zeros.
// Gradients flow to logits and targets; the mask is a constant.
Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, const Tensor& mask = Tensor());

}  // namespace moe
