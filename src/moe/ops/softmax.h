// ops/softmax.h: softmax and log_softmax over any dim, with dedicated backward
// kernels. The fused softmax cross-entropy is in ops/loss.h.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// exp(x) / sum(exp(x)) along `dim` (negative counts from the end); the row max is
// subtracted first, so large logits do not overflow. Output contiguous, x's shape.
Tensor softmax(const Tensor& x, int64_t dim = -1);
// x - logsumexp(x) along `dim`; more accurate than log(softmax(x)) for small probabilities.
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

}  // namespace moe
