// optim/clip.cpp: gradient norm, clipping and the finiteness check over the optim kernels.
#include "moe/optim/clip.h"

#include <cmath>

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"

namespace moe::optim {

namespace {
// The gradient of a parameter, contiguous (leaf gradients already are), or undefined.
Tensor grad_of(const std::string& name, const Tensor& p, const char* op) {
  Tensor g = p.grad();
  if (!g.defined()) return g;
  MOE_CHECK(g.is_contiguous(), "{}: gradient {} of parameter '{}' is not contiguous", op, g.str(), name);
  return g;
}
}  // namespace

double grad_norm(const NamedTensors& params) {
  double sum_sq = 0;
  for (const auto& [name, p] : params) {
    Tensor g = grad_of(name, p, "grad_norm");
    if (!g.defined()) continue;
    switch (backend_of(g, "grad_norm")) {
      case Backend::cpu_f32: sum_sq += kernels::cpu::sum_squares(g.data<float>(), g.numel()); break;
      case Backend::ref_f64: sum_sq += kernels::ref::sum_squares(g.data<double>(), g.numel()); break;
      case Backend::cuda_f32:
        MOE_CUDA_ONLY("grad_norm", sum_sq += kernels::cuda::sum_squares(g.data<float>(), g.numel()));
        break;
    }
  }
  return std::sqrt(sum_sq);
}

namespace {
// Scales every gradient to norm max_norm when `total` (their finite norm) exceeds it.
void clip_to(const NamedTensors& params, double max_norm, double total) {
  const double scale = max_norm / (total + 1e-6);
  if (scale >= 1.0) return;
  NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    Tensor g = grad_of(name, p, "clip_grad_norm");
    if (!g.defined()) continue;
    switch (backend_of(g, "clip_grad_norm")) {
      case Backend::cpu_f32: kernels::cpu::scale_inplace(g.data<float>(), g.numel(), static_cast<float>(scale)); break;
      case Backend::ref_f64: kernels::ref::scale_inplace(g.data<double>(), g.numel(), scale); break;
      case Backend::cuda_f32:
        MOE_CUDA_ONLY("clip_grad_norm",
                      kernels::cuda::scale_inplace(g.data<float>(), g.numel(), static_cast<float>(scale)));
        break;
    }
  }
}
}  // namespace

double clip_grad_norm(const NamedTensors& params, double max_norm) {
  MOE_CHECK(max_norm > 0.0, "clip_grad_norm: max_norm must be > 0, got {}", max_norm);
  const double total = grad_norm(params);
  if (std::isfinite(total)) clip_to(params, max_norm, total);
  return total;
}

std::optional<std::string> check_finite_and_clip(const NamedTensors& params, double max_norm) {
  const double total = grad_norm(params);
  if (!std::isfinite(total)) {
    std::optional<std::string> bad = first_nonfinite_grad(params);
    return bad ? bad : std::optional<std::string>("(gradient norm overflow)");
  }
  if (max_norm > 0.0) clip_to(params, max_norm, total);
  return std::nullopt;
}

std::optional<std::string> first_nonfinite_grad(const NamedTensors& params) {
  for (const auto& [name, p] : params) {
    Tensor g = grad_of(name, p, "first_nonfinite_grad");
    if (!g.defined()) continue;
    bool finite = true;
    switch (backend_of(g, "first_nonfinite_grad")) {
      case Backend::cpu_f32: finite = kernels::cpu::all_finite(g.data<float>(), g.numel()); break;
      case Backend::ref_f64: finite = kernels::ref::all_finite(g.data<double>(), g.numel()); break;
      case Backend::cuda_f32:
        MOE_CUDA_ONLY("first_nonfinite_grad", finite = kernels::cuda::all_finite(g.data<float>(), g.numel()));
        break;
    }
    if (!finite) return name;
  }
  return std::nullopt;
}

}  // namespace moe::optim
