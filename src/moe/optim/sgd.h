// optim/sgd.h: stochastic gradient descent with momentum, as torch.optim.SGD with
// dampening 0. Per parameter p with gradient g:
//   d = g + weight_decay * p                      (L2 term, when weight_decay != 0)
//   buf = momentum * buf + d                      (when momentum != 0; buf starts at 0)
//   d = nesterov ? d + momentum * buf : buf       (Sutskever et al. 2013, as torch)
//   p -= lr * d
// State: "sgd.momentum_buffer.<param name>" (only when momentum != 0).
#pragma once
#include "moe/optim/optimizer.h"

namespace moe::optim {

struct SgdOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  // needs momentum > 0
};

class SGD : public Optimizer {
 public:
  SGD(NamedTensors params, const SgdOptions& options);
  const SgdOptions& options() const { return options_; }

 private:
  void update(size_t index, const Tensor& param, const Tensor& grad) override;
  SgdOptions options_;
  std::vector<Tensor> momentum_buffers_;  // one per parameter; undefined when momentum == 0
};

}  // namespace moe::optim
