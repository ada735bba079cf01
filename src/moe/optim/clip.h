// optim/clip.h: global-norm gradient clipping and the NaN/Inf gradient check run
// before each optimizer step.
#pragma once
#include <optional>
#include <string>

#include "moe/optim/optimizer.h"

namespace moe::optim {

// As torch.nn.utils.clip_grad_norm_ (L2 norm): total = sqrt(sum over parameters of
// sum g^2) (accumulated in double), scale = min(1, max_norm / (total + 1e-6)), and every
// gradient is multiplied by scale in place when scale < 1. Returns the pre-clip total.
// Parameters without a gradient are skipped. A non-finite total (NaN/Inf in a gradient)
// is returned with the gradients left untouched (torch would scale them all to NaN).
double clip_grad_norm(const NamedTensors& params, double max_norm);

// The global L2 norm of the gradients, without clipping.
double grad_norm(const NamedTensors& params);

// The name of the first parameter (in `params` order) whose gradient holds a NaN or an
// Inf; nullopt when all gradients are finite.
std::optional<std::string> first_nonfinite_grad(const NamedTensors& params);

// A training step's gradient guard in one pass over the gradients: their global norm,
// which is finite exactly when every element is (float squares summed in double cannot
// overflow). Not finite: returns first_nonfinite_grad's name, the gradients untouched.
// Finite: clips to max_norm as clip_grad_norm (when max_norm > 0) and returns nullopt.
// Replaces first_nonfinite_grad + clip_grad_norm, which read the gradients twice (~2%
// of a char-LM step, BENCHMARKS.md).
std::optional<std::string> check_finite_and_clip(const NamedTensors& params, double max_norm);

}  // namespace moe::optim
