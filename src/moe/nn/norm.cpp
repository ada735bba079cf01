// nn/norm.cpp: LayerNorm and RMSNorm over the fused layer_norm / rms_norm ops.
#include "moe/nn/norm.h"

#include "moe/ops/norm.h"

namespace moe::nn {

namespace {

// The ops check only that weight matches x's last dim; this names the module and its size.
void check_last_dim(const Tensor& x, int64_t dim, const char* module) {
  MOE_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == dim, "{}: input must be (..., {}), got {}", module, dim,
            x.defined() ? x.str() : std::string("undefined"));
}

}  // namespace

LayerNorm::LayerNorm(int64_t dim, double eps, bool affine, DType dtype) : dim_(dim), eps_(eps) {
  MOE_CHECK(dim > 0, "LayerNorm: dim must be positive, got {}", dim);
  MOE_CHECK(eps > 0, "LayerNorm: eps must be positive, got {}", eps);
  if (affine) {
    weight_ = Tensor::ones({dim}, dtype);
    register_parameter("weight", weight_);
    bias_ = Tensor::zeros({dim}, dtype);
    register_parameter("bias", bias_);
  }
}

Tensor LayerNorm::forward(const Tensor& x) const {
  check_last_dim(x, dim_, "LayerNorm");
  return layer_norm(x, weight_, bias_, eps_);
}

RMSNorm::RMSNorm(int64_t dim, double eps, DType dtype) : dim_(dim), eps_(eps) {
  MOE_CHECK(dim > 0, "RMSNorm: dim must be positive, got {}", dim);
  MOE_CHECK(eps > 0, "RMSNorm: eps must be positive, got {}", eps);
  weight_ = Tensor::ones({dim}, dtype);
  register_parameter("weight", weight_);
}

Tensor RMSNorm::forward(const Tensor& x) const {
  check_last_dim(x, dim_, "RMSNorm");
  return rms_norm(x, weight_, eps_);
}

}  // namespace moe::nn
