// moe_layer.cpp: route, dispatch, grouped experts, combine.
#include "moe/moe/moe_layer.h"

#include "moe/ops/elementwise.h"
#include "moe/ops/reduce.h"

namespace moe {

MoELayer::MoELayer(const MoEConfig& c, Rng& rng, DType dtype) : config_(c) {
  MOE_CHECK(c.d_model >= 1, "moe layer: d_model must be >= 1, got {}", c.d_model);
  MOE_CHECK(c.expert.d_model == 0 || c.expert.d_model == c.d_model,
            "moe layer: expert d_model {} differs from the layer's {}", c.expert.d_model, c.d_model);
  MOE_CHECK(c.num_shared_experts >= 0, "moe layer: num_shared_experts must be >= 0, got {}", c.num_shared_experts);
  config_.expert.d_model = c.d_model;
  router_ = register_module("router", std::make_shared<Router>(c.router, c.d_model, c.num_experts, rng, dtype));
  experts_ = register_module("experts", std::make_shared<Experts>(config_.expert, c.num_experts, rng, dtype));
  if (c.num_shared_experts > 0)
    shared_ = register_module("shared", std::make_shared<Experts>(config_.expert, c.num_shared_experts, rng, dtype));
}

Tensor MoELayer::forward(const Tensor& x, const RouteInputs& in, Router* router) {
  const int64_t D = config_.d_model;
  MOE_CHECK(x.dim() >= 1 && x.size(-1) == D, "moe layer: input must be (..., {}), got {}", D, x.str());
  Tensor x2 = x.reshape({-1, D});
  if (router) {
    MOE_CHECK(router->num_experts() == config_.num_experts, "moe layer: the given router has {} experts, the layer {}",
              router->num_experts(), config_.num_experts);
  }
  last_ = (router ? router : router_.get())->forward(x2, in);
  Tensor ys = experts_->forward(dispatch(x2, last_.plan), last_.plan.expert_offsets, in.rng);
  Tensor out = combine(ys, last_.gates, last_.plan);
  if (shared_) {
    // Every token through each shared expert: S segments of all N rows.
    const int64_t N = x2.size(0), S = config_.num_shared_experts, O = config_.expert.output_width();
    std::vector<int64_t> off(S + 1);
    for (int64_t s = 0; s <= S; ++s) off[s] = s * N;
    Tensor rep = x2.unsqueeze(0).expand({S, N, D}).reshape({S * N, D});
    out = add(out, sum(shared_->forward(rep, off, in.rng).reshape({S, N, O}), {0}));
  }
  stats_ = compute_routing_stats(last_.plan, last_.probs);
  stats_.aux_losses = last_.aux_values;
  Shape shape = x.shape();  // (..., d_out): an mlp expert may change the width
  shape.back() = config_.expert.output_width();
  return out.reshape(shape);
}

int64_t MoELayer::active_parameters_per_token() const {
  int64_t per_expert = experts_->num_parameters() / config_.num_experts;
  int64_t router = router_->num_parameters();
  int64_t shared = shared_ ? shared_->num_parameters() : 0;
  return router + router_->experts_per_token() * per_expert + shared;
}

}  // namespace moe
