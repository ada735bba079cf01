// ops/reduce.h: sums, means and maxima over dims, and sum_to (the backward of broadcasting).
#pragma once
#include <vector>

#include "moe/core/tensor.h"

namespace moe {

Tensor sum(const Tensor& x);  // all elements -> 0-dim
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
// Max over one dim; the gradient flows to the first maximal element.
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // int64, no gradient
// Sums `x` down to `shape` (which x broadcasts from): the gradient of an expand.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace moe
