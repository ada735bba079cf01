// aux_losses.cpp: balancing losses composed of differentiable ops.
#include "moe/moe/aux_losses.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/reduce.h"

namespace moe {

Tensor logsumexp_rows(const Tensor& x) {
  MOE_CHECK(x.dim() == 2, "logsumexp_rows: expected (N, E), got {}", x.str());
  Tensor m = max(x, 1, true).detach();  // the shift only stabilises; its gradient cancels
  return add(log(sum(exp(sub(x, m)), {1})), m.reshape({x.size(0)}));
}

Tensor cv_squared(const Tensor& v) {
  MOE_CHECK(v.dim() == 1 && v.size(0) >= 1, "cv_squared: expected a non-empty vector, got {}", v.str());
  Tensor m = mean(v);
  Tensor var = mean(square(sub(v, m)));
  return div(var, add(square(m), 1e-10));  // eps: an all-zero vector gives 0, not NaN
}

Tensor switch_loss(const Tensor& probs, const Tensor& experts) {
  MOE_CHECK(probs.dim() == 2 && experts.dim() == 2 && experts.size(0) == probs.size(0),
            "switch_loss: probs (N, E) and experts (N, k) expected, got {} and {}", probs.str(), experts.str());
  const int64_t N = probs.size(0), E = probs.size(1), k = experts.size(1);
  std::vector<int64_t> ex = experts.to_vector<int64_t>();
  std::vector<double> f(E, 0.0);
  for (int64_t e : ex) {
    MOE_CHECK(e >= 0 && e < E, "switch_loss: expert index {} out of range for {} experts", e, E);
    f[e] += 1.0 / static_cast<double>(N * k);
  }
  Tensor frac = Tensor::from_vector(f, {E}).to(probs.dtype());  // counts carry no gradient
  Tensor P = mean(probs, {0});
  return mul(sum(mul(frac, P)), static_cast<double>(E));
}

Tensor importance_loss(const Tensor& gates) {
  MOE_CHECK(gates.dim() == 2, "importance_loss: gates must be (N, E), got {}", gates.str());
  return cv_squared(sum(gates, {0}));
}

Tensor load_loss(const Tensor& load) { return cv_squared(load); }

Tensor uniform_mse_loss(const Tensor& probs) {
  MOE_CHECK(probs.dim() == 2, "uniform_mse_loss: probs must be (N, E), got {}", probs.str());
  const double E = static_cast<double>(probs.size(1));
  return mean(square(add(mean(probs, {0}), -1.0 / E)));
}

Tensor z_loss(const Tensor& logits) { return mean(square(logsumexp_rows(logits))); }

}  // namespace moe
