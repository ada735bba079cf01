// nn/norm.h: the normalisation layers, LayerNorm and RMSNorm, holding the parameters
// of the fused ops in ops/norm.h (which do the arithmetic and the backward).
#pragma once
#include "moe/nn/module.h"

namespace moe::nn {

// torch.nn.LayerNorm over the last dim of size `dim`: (x - mean) / sqrt(var + eps) *
// weight + bias, biased variance. With `affine`, parameters "weight" (dim, init 1) and
// "bias" (dim, init 0); without, none.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool affine = true, DType dtype = DType::f32);
  // x: (..., dim) -> (..., dim)
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  const Tensor& weight() const { return weight_; }  // undefined without affine
  const Tensor& bias() const { return bias_; }
  int64_t dim() const { return dim_; }
  double eps() const { return eps_; }

 private:
  int64_t dim_;
  double eps_;
  Tensor weight_, bias_;
};

// RMSNorm (Zhang & Sennrich 2019, eq. 4) over the last dim: x / sqrt(mean(x^2) + eps) *
// weight, as in T5 and LLaMA; parameter "weight" (dim, init 1), no bias.
class RMSNorm : public Module {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6, DType dtype = DType::f32);
  // x: (..., dim) -> (..., dim)
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  const Tensor& weight() const { return weight_; }
  int64_t dim() const { return dim_; }
  double eps() const { return eps_; }

 private:
  int64_t dim_;
  double eps_;
  Tensor weight_;
};

}  // namespace moe::nn
