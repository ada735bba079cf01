// ops/topk.h: the k largest (or smallest) entries along a dim, as MoE routers use it.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

struct TopK {
  Tensor values;   // x's dtype, differentiable: the gradient flows to the selected entries
  Tensor indices;  // int64 positions along `dim`, not differentiable
};

// Along `dim`, sorted best first (descending when largest, ascending otherwise). Ties
// go to the lower index first, so equal inputs always give the same selection; NaN
// ranks above every number (as in torch.topk). Both outputs have x's shape with dim
// `dim` of size k, 0 <= k <= x.size(dim).
TopK topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true);

}  // namespace moe
