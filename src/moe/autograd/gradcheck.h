// gradcheck.h: compares autograd gradients with central finite differences.
// Run it in float64 (the ref:: backend): inputs are converted to float64 leaves.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "moe/core/tensor.h"

namespace moe {

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0;
  std::string detail;  // the worst element: input, index, analytic, numeric
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

// Checks d/d(inputs) of sum(f(inputs) * w) for a fixed random w. Floating inputs are
// checked (converted to float64, requires_grad); integer inputs are passed through.
// `check` (optional, one flag per input) excludes inputs from the check.
// An element passes when |analytic - numeric| <= atol + rtol * |numeric|.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, double eps = 1e-6,
                          double atol = 1e-6, double rtol = 1e-5, std::vector<bool> check = {});

// For big graphs: compares the directional derivative <grad, v> with
// (L(x + eps v) - L(x - eps v)) / 2 eps for a random direction v over all inputs.
GradcheckResult directional_gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                                      double eps = 1e-6, double rtol = 1e-6, uint64_t seed = 7);

}  // namespace moe
