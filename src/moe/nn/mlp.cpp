// nn/mlp.cpp: MLP and SwiGLU from Linear children and the elementwise activations.
#include "moe/nn/mlp.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/elementwise.h"

namespace moe::nn {

MLP::MLP(int64_t in_features, int64_t hidden_features, int64_t out_features, const std::string& activation,
         Rng& rng, bool bias, DType dtype)
    : activation_(activation) {
  {
    // Validate the name now, with moe::activation's own error listing the valid names.
    NoGradGuard no_grad;
    moe::activation(Tensor::zeros({1}, dtype), activation);
  }
  fc1_ = register_module("fc1", std::make_shared<Linear>(in_features, hidden_features, rng, bias, dtype));
  fc2_ = register_module("fc2", std::make_shared<Linear>(hidden_features, out_features, rng, bias, dtype));
}

Tensor MLP::forward(const Tensor& x) const { return fc2_->forward(moe::activation(fc1_->forward(x), activation_)); }

SwiGLU::SwiGLU(int64_t d_model, int64_t d_ff, Rng& rng, DType dtype) {
  w1_ = register_module("w1", std::make_shared<Linear>(d_model, d_ff, rng, false, dtype));
  w2_ = register_module("w2", std::make_shared<Linear>(d_ff, d_model, rng, false, dtype));
  w3_ = register_module("w3", std::make_shared<Linear>(d_model, d_ff, rng, false, dtype));
}

Tensor SwiGLU::forward(const Tensor& x) const { return w2_->forward(mul(silu(w1_->forward(x)), w3_->forward(x))); }

}  // namespace moe::nn
