// ops/bce_loss.cpp: binary cross-entropy on logits, composed of softplus, mul and sum
// (each with its own backward), so it runs on every backend the elementwise ops run on.
#include "moe/ops/bce_loss.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/reduce.h"

namespace moe {

Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, const Tensor& mask) {
  check_float(logits, "bce_with_logits");
  check_same_kind(logits, targets, "bce_with_logits");
  MOE_CHECK(logits.shape() == targets.shape(), "bce_with_logits: logits {} and targets {} must have the same shape",
            logits.str(), targets.str());
  const Tensor per_element = sub(softplus(logits), mul(logits, targets));
  if (!mask.defined()) return mean(per_element);
  check_same_kind(logits, mask, "bce_with_logits");
  MOE_CHECK(broadcast_shapes(mask.shape(), logits.shape(), "bce_with_logits") == logits.shape(),
            "bce_with_logits: mask {} does not broadcast to logits {}", mask.str(), logits.str());
  const Tensor weights = mask.detach().expand(logits.shape());
  double count = 0;
  {
    NoGradGuard no_grad;
    count = sum(weights).item();
  }
  // All positions masked out: 0, as cross_entropy with every row ignored.
  return mul(sum(mul(per_element, weights)), count != 0 ? 1.0 / count : 0.0);
}

}  // namespace moe
