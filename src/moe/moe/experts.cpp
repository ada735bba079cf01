// experts.cpp: stacked experts over grouped_linear.
#include "moe/moe/experts.h"

#include "moe/nn/linear.h"
#include "moe/ops/dropout.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/grouped_linear.h"

namespace moe {

Experts::Experts(const ExpertConfig& c, int64_t E, Rng& rng, DType dtype) : config_(c), num_experts_(E) {
  MOE_CHECK(E >= 1, "experts: need at least one expert, got {}", E);
  MOE_CHECK(c.d_model >= 1, "experts: d_model must be >= 1, got {}", c.d_model);
  const int64_t D = c.d_model;
  if (c.kind == "ffn" || c.kind == "swiglu") {
    MOE_CHECK(c.d_ff >= 1, "experts: d_ff must be >= 1 for kind '{}', got {}", c.kind, c.d_ff);
    const int64_t F = c.d_ff;
    w1_ = nn::uniform_fan_in({E, F, D}, D, rng, dtype);
    register_parameter("w1", w1_);
    if (c.kind == "ffn" && c.bias) {
      b1_ = nn::uniform_fan_in({E, F}, D, rng, dtype);
      register_parameter("b1", b1_);
    }
    w2_ = nn::uniform_fan_in({E, D, F}, F, rng, dtype);
    register_parameter("w2", w2_);
    if (c.kind == "ffn" && c.bias) {
      b2_ = nn::uniform_fan_in({E, D}, F, rng, dtype);
      register_parameter("b2", b2_);
    }
    if (c.kind == "swiglu") {
      w3_ = nn::uniform_fan_in({E, F, D}, D, rng, dtype);
      register_parameter("w3", w3_);
    } else {
      activation(Tensor::zeros({1}, dtype), c.activation);  // validates the name now
    }
    MOE_CHECK(c.dropout >= 0.0 && c.dropout < 1.0, "experts: dropout must be in [0, 1), got {}", c.dropout);
  } else if (c.kind == "lowrank") {
    MOE_CHECK(c.rank >= 1, "experts: rank must be >= 1 for kind 'lowrank', got {}", c.rank);
    v_ = nn::uniform_fan_in({E, c.rank, D}, D, rng, dtype);
    register_parameter("v", v_);
    u_ = nn::uniform_fan_in({E, D, c.rank}, c.rank, rng, dtype);
    register_parameter("u", u_);
    if (c.bias) {
      b2_ = nn::uniform_fan_in({E, D}, c.rank, rng, dtype);
      register_parameter("b", b2_);
    }
  } else if (c.kind == "mlp") {
    MOE_CHECK(!c.hidden.empty(), "experts: kind 'mlp' needs at least one hidden width");
    MOE_CHECK(c.d_out >= 0, "experts: d_out must be >= 0 (0 = d_model), got {}", c.d_out);
    std::vector<int64_t> widths{D};
    for (int64_t h : c.hidden) {
      MOE_CHECK(h >= 1, "experts: mlp hidden widths must be >= 1, got {}", h);
      widths.push_back(h);
    }
    widths.push_back(c.output_width());
    const size_t L = widths.size() - 1;
    mlp_w_.resize(L);
    mlp_b_.resize(L);
    for (size_t l = 0; l < L; ++l) {  // as torch.nn.Linear(widths[l], widths[l + 1]) per expert
      mlp_w_[l] = nn::uniform_fan_in({E, widths[l + 1], widths[l]}, widths[l], rng, dtype);
      register_parameter("w" + std::to_string(l), mlp_w_[l]);
      if (c.bias) {
        mlp_b_[l] = nn::uniform_fan_in({E, widths[l + 1]}, widths[l], rng, dtype);
        register_parameter("b" + std::to_string(l), mlp_b_[l]);
      }
    }
    activation(Tensor::zeros({1}, dtype), c.activation);  // validates the name now
  } else {
    throw Error(fmt::format("experts: unknown kind '{}' (expected ffn, swiglu, lowrank or mlp)", c.kind));
  }
}

Tensor Experts::forward(const Tensor& xs, const std::vector<int64_t>& offsets, Rng* rng) const {
  if (config_.kind == "lowrank") return grouped_linear(grouped_linear(xs, offsets, v_), offsets, u_, b2_);
  if (config_.kind == "mlp") {
    Tensor h = xs;
    for (size_t l = 0; l < mlp_w_.size(); ++l) {
      h = grouped_linear(h, offsets, mlp_w_[l], mlp_b_[l]);
      if (l + 1 < mlp_w_.size()) h = activation(h, config_.activation);
    }
    return h;
  }
  if (config_.kind == "swiglu")
    return grouped_linear(mul(silu(grouped_linear(xs, offsets, w1_)), grouped_linear(xs, offsets, w3_)), offsets, w2_);
  Tensor h = activation(grouped_linear(xs, offsets, w1_, b1_), config_.activation);
  if (config_.dropout > 0 && is_training()) {
    MOE_CHECK(rng != nullptr, "experts: dropout in training needs a generator");
    h = dropout(h, config_.dropout, true, *rng);
  }
  return grouped_linear(h, offsets, w2_, b2_);
}

int64_t Experts::macs_per_token() const {
  const int64_t D = config_.d_model;
  if (config_.kind == "lowrank") return 2 * D * config_.rank;
  if (config_.kind == "mlp") {
    int64_t macs = 0;
    for (const Tensor& w : mlp_w_) macs += w.size(1) * w.size(2);
    return macs;
  }
  if (config_.kind == "swiglu") return 3 * D * config_.d_ff;
  return 2 * D * config_.d_ff;
}

}  // namespace moe
