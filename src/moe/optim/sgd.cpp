// optim/sgd.cpp: SGD (momentum, Nesterov, L2 weight decay) over the optim kernels.
#include "moe/optim/sgd.h"

#include "moe/ops/dispatch.h"

namespace moe::optim {

SGD::SGD(NamedTensors params, const SgdOptions& options)
    : Optimizer(std::move(params), options.lr, "SGD"), options_(options) {
  MOE_CHECK(options.momentum >= 0.0, "SGD: momentum must be >= 0, got {}", options.momentum);
  MOE_CHECK(options.weight_decay >= 0.0, "SGD: weight_decay must be >= 0, got {}", options.weight_decay);
  MOE_CHECK(!options.nesterov || options.momentum > 0.0, "SGD: nesterov needs momentum > 0");
  momentum_buffers_.resize(this->params().size());
  if (options.momentum == 0.0) return;
  for (size_t i = 0; i < this->params().size(); ++i) {
    const auto& [name, p] = this->params()[i];
    momentum_buffers_[i] = add_state("sgd.momentum_buffer." + name, p.shape(), p.dtype(), p.device());
  }
}

void SGD::update(size_t index, const Tensor& param, const Tensor& grad) {
  kernels::SgdHyper h;
  h.lr = lr();
  h.momentum = options_.momentum;
  h.weight_decay = options_.weight_decay;
  h.nesterov = options_.nesterov;
  const Tensor& buf = momentum_buffers_[index];
  const int64_t n = param.numel();
  switch (backend_of(param, "SGD.step")) {
    case Backend::cpu_f32:
      kernels::cpu::sgd_update(param.data<float>(), grad.data<float>(), buf.defined() ? buf.data<float>() : nullptr,
                               n, h);
      break;
    case Backend::ref_f64:
      kernels::ref::sgd_update(param.data<double>(), grad.data<double>(),
                               buf.defined() ? buf.data<double>() : nullptr, n, h);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("SGD.step", kernels::cuda::sgd_update(param.data<float>(), grad.data<float>(),
                                                          buf.defined() ? buf.data<float>() : nullptr, n, h));
      break;
  }
  count_updated(n);
}

}  // namespace moe::optim
