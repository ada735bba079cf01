// nn/linear.cpp: Linear and LowRankLinear over the linear op.
#include "moe/nn/linear.h"

#include <cmath>

#include "moe/ops/matmul.h"

namespace moe::nn {

Tensor uniform_fan_in(const Shape& shape, int64_t fan_in, Rng& rng, DType dtype) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return Tensor::rand(shape, rng, -bound, bound, dtype);
}

Linear::Linear(int64_t in_features, int64_t out_features, Rng& rng, bool bias, DType dtype)
    : in_features_(in_features), out_features_(out_features) {
  MOE_CHECK(in_features > 0 && out_features > 0, "Linear: sizes must be positive, got in={} out={}", in_features,
            out_features);
  weight_ = uniform_fan_in({out_features, in_features}, in_features, rng, dtype);
  register_parameter("weight", weight_);
  if (bias) {
    bias_ = uniform_fan_in({out_features}, in_features, rng, dtype);
    register_parameter("bias", bias_);
  }
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight_, bias_); }

LowRankLinear::LowRankLinear(int64_t in_features, int64_t out_features, int64_t rank, Rng& rng, bool bias,
                             DType dtype)
    : in_features_(in_features), out_features_(out_features), rank_(rank) {
  MOE_CHECK(in_features > 0 && out_features > 0 && rank > 0,
            "LowRankLinear: sizes must be positive, got in={} out={} rank={}", in_features, out_features, rank);
  u_ = uniform_fan_in({out_features, rank}, rank, rng, dtype);
  register_parameter("u", u_);
  v_ = uniform_fan_in({in_features, rank}, in_features, rng, dtype);
  register_parameter("v", v_);
  if (bias) {
    bias_ = uniform_fan_in({out_features}, rank, rng, dtype);
    register_parameter("bias", bias_);
  }
}

Tensor LowRankLinear::forward(const Tensor& x) const {
  // V^T is (rank, in): a Linear weight read through a transposed view (no copy).
  return linear(linear(x, v_.t()), u_, bias_);
}

}  // namespace moe::nn
