// sparse/sparse_linear.h: the sparse linear op y = x W^T + b with W (out, in) stored as a
// CSR pattern plus a values tensor of its nnz live entries. Forward and both backward
// products cost O(B * nnz), never O(B * out * in): the product SET relies on
// (Mocanu et al. 2018, "Scalable training of artificial neural networks with adaptive
// sparse connectivity ...", Nature Communications 9:2383).
#pragma once
#include "moe/sparse/csr.h"

namespace moe::sparse {

// x: (B, in) (any strides); pattern: (out, in); values: (nnz) of x's dtype; bias: (out)
// or undefined. Returns (B, out). Differentiable in x, values and bias; the backward keeps
// its own reference to `pattern`, so a topology change after the forward is safe.
Tensor sparse_linear(const Tensor& x, const CsrPatternPtr& pattern, const Tensor& values,
                     const Tensor& bias = Tensor());

}  // namespace moe::sparse
