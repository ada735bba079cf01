// ops/cumprod.cpp: cumprod over any dim: the dim is moved last (a copy only when it is
// not already last and contiguous), one kernel call over the (rows, n) matrix, and
// moved back. The backward recomputes the running products from the saved input.
#include "moe/ops/cumprod.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"

namespace moe {

namespace {

void forward_rows(const Tensor& x, const Tensor& y, int64_t rows, int64_t n, bool exclusive) {
  switch (backend_of(x, "cumprod")) {
    case Backend::cpu_f32: kernels::cpu::cumprod_rows(x.data<float>(), y.data<float>(), rows, n, exclusive); break;
    case Backend::ref_f64: kernels::ref::cumprod_rows(x.data<double>(), y.data<double>(), rows, n, exclusive); break;
    case Backend::cuda_f32: throw Error("cumprod: CUDA backend not built");
  }
}

void backward_rows(const Tensor& x, const Tensor& gy, const Tensor& gx, int64_t rows, int64_t n, bool exclusive) {
  switch (backend_of(x, "cumprod")) {
    case Backend::cpu_f32:
      kernels::cpu::cumprod_backward_rows(x.data<float>(), gy.data<float>(), gx.data<float>(), rows, n, exclusive);
      break;
    case Backend::ref_f64:
      kernels::ref::cumprod_backward_rows(x.data<double>(), gy.data<double>(), gx.data<double>(), rows, n,
                                          exclusive);
      break;
    case Backend::cuda_f32: throw Error("cumprod: CUDA backend not built");
  }
}

// t with dim d moved last, contiguous (rows of length t.size(d)).
Tensor rows_of(const Tensor& t, int d) {
  return d == t.dim() - 1 ? t.contiguous() : t.transpose(d, -1).contiguous();
}
Tensor from_rows(const Tensor& rows, int d) {
  return d == rows.dim() - 1 ? rows : rows.transpose(d, -1).contiguous();
}

}  // namespace

Tensor cumprod(const Tensor& x, int64_t dim, bool exclusive) {
  check_float(x, "cumprod");
  MOE_CHECK(x.dim() >= 1, "cumprod: input {} needs at least one dim", x.str());
  const int d = wrap_dim(dim, x.dim(), "cumprod");
  Tensor out;
  Tensor x_rows;
  {
    NoGradGuard no_grad;
    x_rows = rows_of(x.detach(), d);
    Tensor y = Tensor::empty(x_rows.shape(), x.dtype(), x.device());
    const int64_t n = x_rows.size(-1);
    forward_rows(x_rows, y, n ? x_rows.numel() / n : 0, n, exclusive);
    out = from_rows(y, d);
  }
  if (!needs_grad({&x})) return out;
  record(out, "cumprod", {x}, [x_rows, d, exclusive](const Tensor& g) {
    NoGradGuard no_grad;
    const Tensor g_rows = rows_of(g, d);
    Tensor gx = Tensor::empty(x_rows.shape(), x_rows.dtype(), x_rows.device());
    const int64_t n = x_rows.size(-1);
    backward_rows(x_rows, g_rows, gx, n ? x_rows.numel() / n : 0, n, exclusive);
    return std::vector<Tensor>{from_rows(gx, d)};
  });
  return out;
}

}  // namespace moe
