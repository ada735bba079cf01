// dispatch.h: the MoE fast path's bookkeeping. A RoutingPlan lists the (token, expert)
// assignments of one forward, sorted by expert once (stable), so that each expert's
// tokens form one contiguous segment; dispatch() gathers the rows into that order,
// the experts run one GEMM per segment (grouped_linear), and combine() adds each
// token's expert outputs back, weighted by its gates, in a fixed order (no atomics).
// Backward reuses the same plan.
#pragma once
#include <cstdint>
#include <vector>

#include "moe/core/tensor.h"

namespace moe {

struct RoutingPlan {
  int64_t num_tokens = 0;
  int64_t num_experts = 0;
  std::vector<int64_t> expert_offsets;  // E + 1: the segment of each expert in sorted order
  std::vector<int64_t> pos_token;       // A: the token at each sorted position
  std::vector<int64_t> pos_gate;        // A: index into the flattened gate tensor
  // The positions of each token (CSR, in sorted-position order): the combine order.
  std::vector<int64_t> token_offsets;   // N + 1
  std::vector<int64_t> token_positions; // A
  // Token choice with a capacity: assignments dropped, per choice rank (slot).
  std::vector<int64_t> dropped_per_slot;
  int64_t dropped = 0;

  int64_t num_assignments() const { return static_cast<int64_t>(pos_token.size()); }
  int64_t tokens_of_expert(int64_t e) const { return expert_offsets[e + 1] - expert_offsets[e]; }
};

// Token choice: token t sends slot s to expert experts[t, s] (int64, (N, k)). With
// capacity >= 0, an expert receiving more than `capacity` assignments keeps the
// ones with the highest `scores[t, s]` (ties: lower token first) and drops the rest.
// pos_gate indexes the flattened (N, k) gate tensor: t * k + s.
RoutingPlan plan_token_choice(const Tensor& experts, const Tensor& scores, int64_t num_experts,
                              int64_t capacity = -1);

// Expert choice (Zhou et al. 2022): expert e takes the `capacity` tokens with the
// highest scores[:, e] (scores (N, E); ties: lower token first), kept in token order.
// pos_gate indexes the flattened (N, E) score tensor: t * E + e.
RoutingPlan plan_expert_choice(const Tensor& scores, int64_t capacity);

// x (N, D) -> (A, D): row p is x[plan.pos_token[p]]. Differentiable.
Tensor dispatch(const Tensor& x, const RoutingPlan& plan);

// ys (A, D), gates (A) -> (N, D): out[t] = sum of gates[p] * ys[p] over the token's
// positions (tokens with none get 0). Differentiable in ys and gates.
Tensor combine(const Tensor& ys, const Tensor& gates, const RoutingPlan& plan);

}  // namespace moe
