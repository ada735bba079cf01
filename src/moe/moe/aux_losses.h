// aux_losses.h: the auxiliary balancing losses of MoE routers, each a differentiable
// scalar. Normalisations are spelled out because papers differ:
//
//   switch_loss      E * sum_i f_i * P_i (Fedus et al. 2021, eq. 4), where f_i is the
//                    share of all N*k routing choices that picked expert i (every one
//                    of the k choices counts) and P_i the mean router probability of i.
//                    A perfectly balanced router gives exactly 1.
//   importance_loss  CV(importance)^2, importance_i = sum over tokens of the gate
//                    weight of expert i (Shazeer et al. 2017, eq. 6); CV = population
//                    std / mean.
//   load_loss        CV(load)^2 for a differentiable load estimate (Shazeer 2017, eq. 10;
//                    the noisy top-k router computes the estimate).
//   uniform_mse      sum_i (P_i - 1/E)^2 / E: mean squared distance of the mean router
//                    probabilities to uniform (the seeds' "load balancing loss").
//   z_loss           mean over tokens of logsumexp(logits)^2 (Zoph et al. 2022, eq. 5).
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// probs: (N, E) router probabilities; experts: (N, k) int64 chosen experts.
Tensor switch_loss(const Tensor& probs, const Tensor& experts);
// gates: (N, E) gate weights (zero for unselected experts).
Tensor importance_loss(const Tensor& gates);
// load: (E) differentiable load estimate.
Tensor load_loss(const Tensor& load);
Tensor uniform_mse_loss(const Tensor& probs);
Tensor z_loss(const Tensor& logits);

// Row-wise logsumexp over the last dim of a 2-D tensor: (N, E) -> (N). Stable.
Tensor logsumexp_rows(const Tensor& x);
// Squared coefficient of variation of a 1-D tensor: var / mean^2 (population variance).
Tensor cv_squared(const Tensor& v);

}  // namespace moe
