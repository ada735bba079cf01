// ops/norm.h: layer norm and RMS norm over the last dim, one fused kernel each way.
// The nn/ modules (LayerNorm, RMSNorm) own the parameters; these are the functions.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// (x - mean) / sqrt(var + eps) * weight + bias over the last dim (biased variance, as
// torch.nn.functional.layer_norm). x: (..., C); weight, bias: (C) or undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);

// x / sqrt(mean(x^2) + eps) * weight over the last dim (Zhang & Sennrich 2019; as in
// T5 and LLaMA). x: (..., C); weight: (C) or undefined.
Tensor rms_norm(const Tensor& x, const Tensor& weight = Tensor(), double eps = 1e-6);

}  // namespace moe
