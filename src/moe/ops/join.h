// ops/join.h: joining tensors (concat, stack) and cutting them (split, chunk).
// concat and stack copy and are differentiable; split and chunk return views
// (slices sharing x's storage), differentiable like any slice.
#pragma once
#include <initializer_list>
#include <vector>

#include "moe/core/tensor.h"

namespace moe {

// Joins along an existing dim: same dtype, device and ndim, equal sizes on every other
// dim. Inputs may be any views (transposed, sliced). Works for every dtype; the
// gradient of each float input is its slice of the output gradient.
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim);
// Joins along a new dim inserted at `dim` (in [-(ndim+1), ndim]); equal shapes.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);

// Pieces of the given sizes along `dim` (they must sum to x.size(dim)).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
// Same; this overload makes split(x, {4}, d) mean sizes {4}, not pieces of 4.
std::vector<Tensor> split(const Tensor& x, std::initializer_list<int64_t> sizes, int64_t dim);
// Pieces of split_size along `dim`, the last one smaller when the size does not divide
// (torch.split with an int); an empty dim gives one empty piece.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);
// torch.chunk: pieces of ceil(size / n) along `dim`, so there may be fewer than n
// (chunk of 5 into 4 gives sizes 2, 2, 1).
std::vector<Tensor> chunk(const Tensor& x, int64_t n, int64_t dim);

}  // namespace moe
