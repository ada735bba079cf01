// ops/index.h: integer indexing ops: embedding lookup, index_select/index_add along a
// dim, and torch-style gather/scatter_add. All differentiable in their float inputs
// (float32 or float64); index tensors are int64 (int32 is converted) and never get a
// gradient. An index out of range throws moe::Error naming the op, the position in the
// index tensor, the value and the shapes. Accumulations are deterministic (no atomics):
// each output element sums its contributions in index order.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// weight: (V, D), ids: int, any shape -> (*ids.shape, D). The backward scatter-adds
// the rows of the output gradient into a dense (V, D) gradient.
Tensor embedding(const Tensor& weight, const Tensor& ids);

// x: (..., n, ...) with n at `dim`, index: (K) -> x with dim `dim` of size K, row k
// being x's row index[k].
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out = x with source's row k added to row index[k] along `dim` (repeats accumulate);
// source has x's shape with dim `dim` of size K = index.numel(). Gradients to x and source.
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);

// torch.gather: index has x's ndim, index.size(d) <= x.size(d) for d != dim;
// out (index's shape)[..., i, ...] = x[..., index[..., i, ...], ...] along `dim`.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// torch.scatter_add (out of place): out = x, then out[..., index[p], ...] += src[p]
// along `dim` for every position p of index; index.size(d) <= src.size(d) for all d and
// <= x.size(d) for d != dim. Gradients to x and src.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace moe
