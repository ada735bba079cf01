// ops/cumprod.h: the cumulative product along a dim, inclusive (torch.cumprod) or
// exclusive (shifted by one, starting at 1), with a dedicated backward kernel that is
// exact when x holds zeros. The DNC's allocation weighting (Graves et al. 2016,
// Methods "Dynamic memory allocation") is the exclusive product of the sorted usages.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// x: any float shape and strides; along `dim`:
//   inclusive: y[j] = prod_{i <= j} x[i];  exclusive: y[j] = prod_{i < j} x[i] (y[0] = 1).
// Output contiguous, x's shape; the gradient flows to x.
Tensor cumprod(const Tensor& x, int64_t dim = -1, bool exclusive = false);

}  // namespace moe
