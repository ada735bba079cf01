// nn/linear.h: Linear (y = x W^T + b) and LowRankLinear (y = U (V^T x) + b, W = U V^T
// never formed), with PyTorch's default initialisation from a moe::Rng.
#pragma once
#include "moe/core/rng.h"
#include "moe/nn/module.h"

namespace moe::nn {

// U(-bound, bound) with bound = 1/sqrt(fan_in): torch.nn.Linear's default for both the
// weight (kaiming_uniform with a = sqrt(5)) and the bias.
Tensor uniform_fan_in(const Shape& shape, int64_t fan_in, Rng& rng, DType dtype);

// Parameters "weight" (out, in) and "bias" (out). Initialised as torch.nn.Linear:
// kaiming_uniform(a = sqrt(5)) gives W ~ U(-1/sqrt(in), 1/sqrt(in)), and b ~ the same
// bound; weight is drawn first, then bias.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Rng& rng, bool bias = true, DType dtype = DType::f32);
  // x: (..., in) -> (..., out)
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined without bias
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

 private:
  int64_t in_features_, out_features_;
  Tensor weight_, bias_;
};

// A rank-r factorised linear map: parameters "u" (out, rank), "v" (in, rank) and "bias"
// (out), W = U V^T, applied as two GEMMs, x -> x V -> (x V) U^T + b: O(rank (in + out))
// per row instead of O(in out). Each factor is initialised as the Linear it acts as
// (V^T as Linear(in, rank): U(+-1/sqrt(in)); U as Linear(rank, out): U(+-1/sqrt(rank)),
// bias likewise), drawn in the order u, v, bias.
class LowRankLinear : public Module {
 public:
  LowRankLinear(int64_t in_features, int64_t out_features, int64_t rank, Rng& rng, bool bias = true,
                DType dtype = DType::f32);
  // x: (..., in) -> (..., out)
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  const Tensor& u() const { return u_; }
  const Tensor& v() const { return v_; }
  const Tensor& bias() const { return bias_; }
  int64_t rank() const { return rank_; }

 private:
  int64_t in_features_, out_features_, rank_;
  Tensor u_, v_, bias_;
};

}  // namespace moe::nn
