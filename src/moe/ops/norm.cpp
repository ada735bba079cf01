// ops/norm.cpp: layer_norm and rms_norm: shape checks, dispatch to the norm kernels,
// and the dedicated backward (dx, dweight, dbias in one kernel pass).
#include "moe/ops/norm.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"

namespace moe {

namespace {

// Checks x (..., C) and an optional per-channel parameter (C) of x's kind.
void check_norm_args(const char* op, const Tensor& x, const Tensor& param, const char* param_name) {
  check_float(x, op);
  MOE_CHECK(x.dim() >= 1, "{}: input must have a last dim to normalise, got {}", op, x.str());
  if (!param.defined()) return;
  check_same_kind(x, param, op);
  MOE_CHECK(param.dim() == 1 && param.size(0) == x.size(-1), "{}: {} {} does not match input {} (want [{}])", op,
            param_name, param.str(), x.str(), x.size(-1));
}

// Typed pointer of an optional contiguous tensor (null when undefined).
template <class T> const T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <class T> T* mut_ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

}  // namespace

Tensor layer_norm(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, double eps) {
  check_norm_args("layer_norm", x_in, weight_in, "weight");
  check_norm_args("layer_norm", x_in, bias_in, "bias");
  const int64_t C = x_in.size(-1), rows = C ? x_in.numel() / C : 0;
  const Tensor x = x_in.detach().contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.detach().contiguous() : Tensor();
  const Tensor bias = bias_in.defined() ? bias_in.detach().contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty({rows}, x.dtype(), x.device()), rstd = Tensor::empty({rows}, x.dtype(), x.device());
  switch (backend_of(x, "layer_norm")) {
    case Backend::cpu_f32:
      kernels::cpu::layer_norm_rows(x.data<float>(), ptr_or_null<float>(weight), ptr_or_null<float>(bias),
                                    out.data<float>(), mean.data<float>(), rstd.data<float>(), rows, C,
                                    static_cast<float>(eps));
      break;
    case Backend::ref_f64:
      kernels::ref::layer_norm_rows(x.data<double>(), ptr_or_null<double>(weight), ptr_or_null<double>(bias),
                                    out.data<double>(), mean.data<double>(), rstd.data<double>(), rows, C, eps);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("layer_norm", kernels::cuda::layer_norm_rows(x.data<float>(), ptr_or_null<float>(weight),
                                                                 ptr_or_null<float>(bias), out.data<float>(),
                                                                 mean.data<float>(), rstd.data<float>(), rows, C,
                                                                 static_cast<float>(eps)));
      break;
  }
  if (!needs_grad({&x_in, &weight_in, &bias_in})) return out;
  const bool need_w = weight_in.defined() && weight_in.requires_grad();
  const bool need_b = bias_in.defined() && bias_in.requires_grad();
  std::vector<Tensor> inputs{x_in, weight_in, bias_in};
  record(out, "layer_norm", inputs, [=](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device());
    Tensor gw = need_w ? Tensor::empty({C}, x.dtype(), x.device()) : Tensor();
    Tensor gb = need_b ? Tensor::empty({C}, x.dtype(), x.device()) : Tensor();
    switch (backend_of(x, "layer_norm")) {
      case Backend::cpu_f32:
        kernels::cpu::layer_norm_backward_rows(x.data<float>(), ptr_or_null<float>(weight), mean.data<float>(),
                                               rstd.data<float>(), g.data<float>(), gx.data<float>(),
                                               mut_ptr_or_null<float>(gw), mut_ptr_or_null<float>(gb), rows, C);
        break;
      case Backend::ref_f64:
        kernels::ref::layer_norm_backward_rows(x.data<double>(), ptr_or_null<double>(weight), mean.data<double>(),
                                               rstd.data<double>(), g.data<double>(), gx.data<double>(),
                                               mut_ptr_or_null<double>(gw), mut_ptr_or_null<double>(gb), rows, C);
        break;
      case Backend::cuda_f32:
        MOE_CUDA_ONLY("layer_norm", kernels::cuda::layer_norm_backward_rows(
                                        x.data<float>(), ptr_or_null<float>(weight), mean.data<float>(),
                                        rstd.data<float>(), g.data<float>(), gx.data<float>(),
                                        mut_ptr_or_null<float>(gw), mut_ptr_or_null<float>(gb), rows, C));
        break;
    }
    return std::vector<Tensor>{gx, gw, gb};
  });
  return out;
}

Tensor rms_norm(const Tensor& x_in, const Tensor& weight_in, double eps) {
  check_norm_args("rms_norm", x_in, weight_in, "weight");
  const int64_t C = x_in.size(-1), rows = C ? x_in.numel() / C : 0;
  const Tensor x = x_in.detach().contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.detach().contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty({rows}, x.dtype(), x.device());
  switch (backend_of(x, "rms_norm")) {
    case Backend::cpu_f32:
      kernels::cpu::rms_norm_rows(x.data<float>(), ptr_or_null<float>(weight), out.data<float>(), rstd.data<float>(),
                                  rows, C, static_cast<float>(eps));
      break;
    case Backend::ref_f64:
      kernels::ref::rms_norm_rows(x.data<double>(), ptr_or_null<double>(weight), out.data<double>(),
                                  rstd.data<double>(), rows, C, eps);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("rms_norm", kernels::cuda::rms_norm_rows(x.data<float>(), ptr_or_null<float>(weight),
                                                             out.data<float>(), rstd.data<float>(), rows, C,
                                                             static_cast<float>(eps)));
      break;
  }
  if (!needs_grad({&x_in, &weight_in})) return out;
  const bool need_w = weight_in.defined() && weight_in.requires_grad();
  record(out, "rms_norm", {x_in, weight_in}, [=](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device());
    Tensor gw = need_w ? Tensor::empty({C}, x.dtype(), x.device()) : Tensor();
    switch (backend_of(x, "rms_norm")) {
      case Backend::cpu_f32:
        kernels::cpu::rms_norm_backward_rows(x.data<float>(), ptr_or_null<float>(weight), rstd.data<float>(),
                                             g.data<float>(), gx.data<float>(), mut_ptr_or_null<float>(gw), rows, C);
        break;
      case Backend::ref_f64:
        kernels::ref::rms_norm_backward_rows(x.data<double>(), ptr_or_null<double>(weight), rstd.data<double>(),
                                             g.data<double>(), gx.data<double>(), mut_ptr_or_null<double>(gw), rows,
                                             C);
        break;
      case Backend::cuda_f32:
        MOE_CUDA_ONLY("rms_norm", kernels::cuda::rms_norm_backward_rows(
                                      x.data<float>(), ptr_or_null<float>(weight), rstd.data<float>(), g.data<float>(),
                                      gx.data<float>(), mut_ptr_or_null<float>(gw), rows, C));
        break;
    }
    return std::vector<Tensor>{gx, gw};
  });
  return out;
}

}  // namespace moe
