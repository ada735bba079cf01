// dispatch.cpp: building routing plans (counting sort by expert) and the
// dispatch/combine ops.
#include "moe/moe/dispatch.h"

#include <algorithm>
#include <numeric>

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/to_device.h"

namespace moe {

namespace {

// Fills token_offsets/token_positions from pos_token (a stable counting sort by token).
void build_token_index(RoutingPlan& plan) {
  const int64_t N = plan.num_tokens, A = plan.num_assignments();
  plan.token_offsets.assign(N + 1, 0);
  for (int64_t p = 0; p < A; ++p) ++plan.token_offsets[plan.pos_token[p] + 1];
  for (int64_t t = 0; t < N; ++t) plan.token_offsets[t + 1] += plan.token_offsets[t];
  plan.token_positions.resize(A);
  std::vector<int64_t> fill(plan.token_offsets.begin(), plan.token_offsets.end() - 1);
  for (int64_t p = 0; p < A; ++p) plan.token_positions[fill[plan.pos_token[p]]++] = p;
}

}  // namespace

RoutingPlan plan_token_choice(const Tensor& experts_in, const Tensor& scores_in, int64_t E, int64_t capacity) {
  MOE_CHECK(experts_in.dim() == 2, "plan_token_choice: experts must be (tokens, k), got {}", experts_in.str());
  MOE_CHECK(E >= 1, "plan_token_choice: need at least one expert, got {}", E);
  const int64_t N = experts_in.size(0), k = experts_in.size(1);
  std::vector<int64_t> ex = experts_in.to_vector<int64_t>();
  std::vector<double> sc;
  if (capacity >= 0) {
    MOE_CHECK(scores_in.defined() && scores_in.shape() == experts_in.shape(),
              "plan_token_choice: scores {} must match experts {} when a capacity is set", scores_in.str(),
              experts_in.str());
    sc = scores_in.to_vector<double>();
  }
  RoutingPlan plan;
  plan.num_tokens = N;
  plan.num_experts = E;
  plan.dropped_per_slot.assign(k, 0);
  // Bucket assignment ids (t * k + s) by expert, in token order: the stable sort.
  std::vector<std::vector<int64_t>> bucket(E);
  for (int64_t a = 0; a < N * k; ++a) {
    const int64_t e = ex[a];
    MOE_CHECK(e >= 0 && e < E, "plan_token_choice: token {} slot {} routed to expert {} (have {})", a / k, a % k, e, E);
    bucket[e].push_back(a);
  }
  if (capacity >= 0) {
    for (auto& b : bucket) {
      if (static_cast<int64_t>(b.size()) <= capacity) continue;
      std::vector<int64_t> by_score = b;  // highest score first, ties to the earlier token
      std::stable_sort(by_score.begin(), by_score.end(), [&](int64_t x, int64_t y) { return sc[x] > sc[y]; });
      for (size_t i = capacity; i < by_score.size(); ++i) ++plan.dropped_per_slot[by_score[i] % k];
      by_score.resize(capacity);
      std::sort(by_score.begin(), by_score.end());  // back to token order
      b = std::move(by_score);
    }
  }
  plan.expert_offsets.assign(E + 1, 0);
  for (int64_t e = 0; e < E; ++e) {
    plan.expert_offsets[e + 1] = plan.expert_offsets[e] + static_cast<int64_t>(bucket[e].size());
    for (int64_t a : bucket[e]) {
      plan.pos_token.push_back(a / k);
      plan.pos_gate.push_back(a);
    }
  }
  plan.dropped = std::accumulate(plan.dropped_per_slot.begin(), plan.dropped_per_slot.end(), int64_t{0});
  build_token_index(plan);
  return plan;
}

RoutingPlan plan_expert_choice(const Tensor& scores_in, int64_t capacity) {
  MOE_CHECK(scores_in.dim() == 2, "plan_expert_choice: scores must be (tokens, experts), got {}", scores_in.str());
  MOE_CHECK(capacity >= 0, "plan_expert_choice: capacity must be >= 0, got {}", capacity);
  const int64_t N = scores_in.size(0), E = scores_in.size(1), C = std::min(capacity, N);
  std::vector<double> sc = scores_in.to_vector<double>();
  RoutingPlan plan;
  plan.num_tokens = N;
  plan.num_experts = E;
  plan.expert_offsets.assign(E + 1, 0);
  std::vector<int64_t> order(N);
  for (int64_t e = 0; e < E; ++e) {
    std::iota(order.begin(), order.end(), 0);
    // Top C by score, ties to the lower token: partial sort on (score desc, token asc).
    std::partial_sort(order.begin(), order.begin() + C, order.end(), [&](int64_t a, int64_t b) {
      const double sa = sc[a * E + e], sb = sc[b * E + e];
      return sa > sb || (sa == sb && a < b);
    });
    std::sort(order.begin(), order.begin() + C);
    for (int64_t i = 0; i < C; ++i) {
      plan.pos_token.push_back(order[i]);
      plan.pos_gate.push_back(order[i] * E + e);
    }
    plan.expert_offsets[e + 1] = plan.expert_offsets[e] + C;
  }
  build_token_index(plan);
  return plan;
}

namespace {

// Borrow a plan's index vector as an int64 pointer.
const int64_t* ptr(const std::vector<int64_t>& v) { return v.data(); }

// A device copy of a plan's index vector (for the CUDA kernels).
[[maybe_unused]] Tensor device_index(const std::vector<int64_t>& v) {
  return to_device(Tensor::from_vector(v, {static_cast<int64_t>(v.size())}), Device::CUDA);
}

Tensor combine_raw(const Tensor& ys, const Tensor* w, const RoutingPlan& plan, const char* op) {
  const int64_t N = plan.num_tokens, D = ys.size(1);
  Tensor out = Tensor::empty({N, D}, ys.dtype(), ys.device());
  switch (backend_of(ys, op)) {
    case Backend::cpu_f32:
      kernels::cpu::combine_rows(ys.data<float>(), w ? w->data<float>() : nullptr, ptr(plan.token_offsets),
                                 ptr(plan.token_positions), N, D, out.data<float>());
      break;
    case Backend::ref_f64:
      kernels::ref::combine_rows(ys.data<double>(), w ? w->data<double>() : nullptr, ptr(plan.token_offsets),
                                 ptr(plan.token_positions), D, out.data<double>(), 0, N);
      break;
    case Backend::cuda_f32:  // the host plan's index vectors go to the device for the kernel
      MOE_CUDA_ONLY(op, kernels::cuda::combine_rows(ys.data<float>(), w ? w->data<float>() : nullptr,
                                                    device_index(plan.token_offsets).data<int64_t>(),
                                                    device_index(plan.token_positions).data<int64_t>(), N, D,
                                                    out.data<float>()));
      break;
  }
  return out;
}

Tensor gather_raw(const Tensor& x, const RoutingPlan& plan, const char* op) {
  const int64_t A = plan.num_assignments(), D = x.size(1);
  Tensor out = Tensor::empty({A, D}, x.dtype(), x.device());
  switch (backend_of(x, op)) {
    case Backend::cpu_f32:
      kernels::cpu::gather_rows(x.data<float>(), ptr(plan.pos_token), A, D, out.data<float>());
      break;
    case Backend::ref_f64:
      kernels::ref::gather_rows(x.data<double>(), ptr(plan.pos_token), D, out.data<double>(), 0, A);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(op, kernels::cuda::gather_rows(x.data<float>(), device_index(plan.pos_token).data<int64_t>(), A, D,
                                                   out.data<float>()));
      break;
  }
  return out;
}

}  // namespace

Tensor dispatch(const Tensor& x_in, const RoutingPlan& plan) {
  check_float(x_in, "moe dispatch");
  MOE_CHECK(x_in.dim() == 2 && x_in.size(0) == plan.num_tokens, "moe dispatch: x must be ({}, D), got {}",
            plan.num_tokens, x_in.str());
  Tensor out = gather_raw(x_in.detach().contiguous(), plan, "moe dispatch");
  // The plan is shared by value into the backward (indices only, no tensors).
  auto shared = std::make_shared<RoutingPlan>(plan);
  record(out, "moe_dispatch", {x_in}, [shared](const Tensor& g) {
    // dx[t] = sum of g over the token's positions: the combine with unit weights.
    return std::vector<Tensor>{combine_raw(g.contiguous(), nullptr, *shared, "moe dispatch backward")};
  });
  return out;
}

Tensor combine(const Tensor& ys_in, const Tensor& gates_in, const RoutingPlan& plan) {
  check_same_kind(ys_in, gates_in, "moe combine");
  check_float(ys_in, "moe combine");
  const int64_t A = plan.num_assignments();
  MOE_CHECK(ys_in.dim() == 2 && ys_in.size(0) == A, "moe combine: expert outputs must be ({}, D), got {}", A,
            ys_in.str());
  MOE_CHECK(gates_in.dim() == 1 && gates_in.size(0) == A, "moe combine: gates must be ({}), got {}", A,
            gates_in.str());
  Tensor ys = ys_in.detach().contiguous(), gates = gates_in.detach().contiguous();
  Tensor out = combine_raw(ys, &gates, plan, "moe combine");
  if (!needs_grad({&ys_in, &gates_in})) return out;
  const bool need_ys = ys_in.requires_grad(), need_g = gates_in.requires_grad();
  auto shared = std::make_shared<RoutingPlan>(plan);
  record(out, "moe_combine", {ys_in, gates_in}, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    const int64_t D = ys.size(1);
    Tensor dys = need_ys ? Tensor::empty({A, D}, g.dtype(), g.device()) : Tensor();
    Tensor dw = need_g ? Tensor::empty({A}, g.dtype(), g.device()) : Tensor();
    switch (backend_of(g, "moe combine backward")) {
      case Backend::cpu_f32:
        kernels::cpu::combine_backward(g.data<float>(), ys.data<float>(), gates.data<float>(), ptr(shared->pos_token), A,
                                       D, need_ys ? dys.data<float>() : nullptr, need_g ? dw.data<float>() : nullptr);
        break;
      case Backend::ref_f64:
        kernels::ref::combine_backward(g.data<double>(), ys.data<double>(), gates.data<double>(),
                                       ptr(shared->pos_token), D, need_ys ? dys.data<double>() : nullptr,
                                       need_g ? dw.data<double>() : nullptr, 0, A);
        break;
      case Backend::cuda_f32:
        MOE_CUDA_ONLY("moe combine", kernels::cuda::combine_backward(
                                         g.data<float>(), ys.data<float>(), gates.data<float>(),
                                         device_index(shared->pos_token).data<int64_t>(), A, D,
                                         need_ys ? dys.data<float>() : nullptr, need_g ? dw.data<float>() : nullptr));
        break;
    }
    return std::vector<Tensor>{dys, dw};
  });
  return out;
}

}  // namespace moe
