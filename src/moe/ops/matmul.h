// ops/matmul.h: matrix products through the gemm kernels (BLAS on CPU), no copies
// for transposed operands.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// a: (..., M, K), b: (K, N) or (..., K, N) with the same batch dims -> (..., M, N).
Tensor matmul(const Tensor& a, const Tensor& b);
// x: (..., in), weight: (out, in) as in PyTorch, bias: (out) or undefined -> (..., out).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace moe
