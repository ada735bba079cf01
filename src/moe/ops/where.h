// ops/where.h: elementwise selection: where(cond, a, b) and masked_fill. Selection
// copies values, never multiplies by a 0/1 mask, so infinities in the unselected
// branch (attention's -inf fill) cannot turn into NaN, forward or backward.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// cond ? a : b elementwise, cond, a and b broadcast together (numpy rules). cond may
// have any dtype (nonzero, NaN included, is true) and gets no gradient; a and b share a
// float dtype and get the gradient of the positions they supplied (summed over their
// broadcast dims).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// x with `value` (may be +-infinity) where mask, broadcast to x's shape, is nonzero.
// The gradient to x is the output gradient with zeros at the masked positions.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

}  // namespace moe
