// nn/mlp.h: the two feed-forward blocks: MLP (Linear -> activation -> Linear) and
// SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer", eq. 6, as in LLaMA).
#pragma once
#include <string>

#include "moe/nn/linear.h"

namespace moe::nn {

// fc2(act(fc1(x))): children "fc1" (in -> hidden) and "fc2" (hidden -> out), with bias
// when `bias`. `activation` is a name accepted by moe::activation ("relu", "gelu",
// "silu", "tanh", "sigmoid", "identity"); an unknown name throws at construction.
class MLP : public Module {
 public:
  MLP(int64_t in_features, int64_t hidden_features, int64_t out_features, const std::string& activation, Rng& rng,
      bool bias = true, DType dtype = DType::f32);
  // x: (..., in) -> (..., out)
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
  const std::string& activation() const { return activation_; }

 private:
  std::string activation_;
  std::shared_ptr<Linear> fc1_, fc2_;
};

// w2(silu(w1 x) * w3 x): children "w1", "w3" (d_model -> d_ff) and "w2" (d_ff -> d_model),
// no bias, registered (and initialised) in the order w1, w2, w3.
class SwiGLU : public Module {
 public:
  SwiGLU(int64_t d_model, int64_t d_ff, Rng& rng, DType dtype = DType::f32);
  // x: (..., d_model) -> (..., d_model)
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

 private:
  std::shared_ptr<Linear> w1_, w2_, w3_;
};

}  // namespace moe::nn
