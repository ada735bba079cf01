// ops/loss.h: training losses: the fused softmax cross-entropy and the mean squared
// error. Both reduce to a 0-dim tensor (mean).
#pragma once
#include <cstdint>

#include "moe/core/tensor.h"

namespace moe {

// Mean over non-ignored rows of -log softmax(logits)[n, targets[n]], as
// torch.nn.functional.cross_entropy(logits, targets, ignore_index=ignore_index).
// logits: (N, C) float; targets: (N) int64 in [0, C) or == ignore_index (anything else
// throws naming the row and the value). One fused op: the forward is one pass over
// the logits (saving each row's logsumexp), the backward one pass writing
// (softmax - onehot) * grad / count; the gradient flows to logits only.
// When every row is ignored (count 0) the loss is 0 and the gradient is all zeros;
// PyTorch returns NaN there (0/0). We choose 0 so that a batch made only of padding
// cannot poison a training run.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);

// mean((pred - target)^2) over all elements; pred and target have the same shape and
// dtype; the gradient flows to both.
Tensor mse_loss(const Tensor& pred, const Tensor& target);

}  // namespace moe
