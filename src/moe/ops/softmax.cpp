// ops/softmax.cpp: softmax and log_softmax. The kernels work on contiguous rows, so
// the last dim of a contiguous tensor is the fast path; any other dim (or a strided
// input) is moved to the end, computed, and moved back.
#include "moe/ops/softmax.h"

#include <algorithm>

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"

namespace moe {

namespace {

enum class Kind { softmax, log_softmax };

const char* kind_name(Kind k) { return k == Kind::softmax ? "softmax" : "log_softmax"; }

// y = softmax / log_softmax of the rows of contiguous x (rows, n).
void forward_rows(Kind kind, const Tensor& x, const Tensor& y, int64_t rows, int64_t n) {
  switch (backend_of(x, kind_name(kind))) {
    case Backend::cpu_f32:
      if (kind == Kind::softmax) kernels::cpu::softmax_rows(x.data<float>(), y.data<float>(), rows, n);
      else kernels::cpu::log_softmax_rows(x.data<float>(), y.data<float>(), rows, n);
      break;
    case Backend::ref_f64:
      if (kind == Kind::softmax) kernels::ref::softmax_rows(x.data<double>(), y.data<double>(), rows, n);
      else kernels::ref::log_softmax_rows(x.data<double>(), y.data<double>(), rows, n);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(kind_name(kind), {
        if (kind == Kind::softmax) kernels::cuda::softmax_rows(x.data<float>(), y.data<float>(), rows, n);
        else kernels::cuda::log_softmax_rows(x.data<float>(), y.data<float>(), rows, n);
      });
      break;
  }
}

void backward_rows(Kind kind, const Tensor& y, const Tensor& gy, const Tensor& gx, int64_t rows, int64_t n) {
  switch (backend_of(y, kind_name(kind))) {
    case Backend::cpu_f32:
      if (kind == Kind::softmax)
        kernels::cpu::softmax_backward_rows(y.data<float>(), gy.data<float>(), gx.data<float>(), rows, n);
      else
        kernels::cpu::log_softmax_backward_rows(y.data<float>(), gy.data<float>(), gx.data<float>(), rows, n);
      break;
    case Backend::ref_f64:
      if (kind == Kind::softmax)
        kernels::ref::softmax_backward_rows(y.data<double>(), gy.data<double>(), gx.data<double>(), rows, n);
      else
        kernels::ref::log_softmax_backward_rows(y.data<double>(), gy.data<double>(), gx.data<double>(), rows, n);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(kind_name(kind), {
        if (kind == Kind::softmax)
          kernels::cuda::softmax_backward_rows(y.data<float>(), gy.data<float>(), gx.data<float>(), rows, n);
        else
          kernels::cuda::log_softmax_backward_rows(y.data<float>(), gy.data<float>(), gx.data<float>(), rows, n);
      });
      break;
  }
}

// Applies a row function along dim d: t with d moved last and made contiguous, the
// rows computed into a fresh tensor, the result moved back and made contiguous.
template <class F>
Tensor along_dim(const Tensor& t, int d, F&& rows_fn) {
  const bool last = d == t.dim() - 1;
  Tensor moved = last ? t.contiguous() : t.transpose(d, -1).contiguous();
  Tensor out = Tensor::empty(moved.shape(), moved.dtype(), moved.device());
  const int64_t n = moved.dim() ? moved.size(-1) : 1;
  rows_fn(moved, out, n ? moved.numel() / n : 0, n);
  return last ? out : out.transpose(d, -1).contiguous();
}

Tensor softmax_op(Kind kind, const Tensor& x, int64_t dim) {
  const char* name = kind_name(kind);
  check_float(x, name);
  // A 0-dim tensor is one row of one element (dim 0 or -1, as in PyTorch).
  const int d = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), name);
  Tensor out;
  {
    NoGradGuard no_grad;
    const Tensor x1 = x.dim() == 0 ? x.detach().reshape({1}) : x.detach();
    out = along_dim(x1, d, [&](const Tensor& xr, const Tensor& yr, int64_t rows, int64_t n) {
      forward_rows(kind, xr, yr, rows, n);
    });
    if (x.dim() == 0) out = out.view({});
  }
  if (!needs_grad({&x})) return out;
  Tensor y = out.detach();
  const Shape shape = x.shape();
  record(out, name, {x}, [kind, y, d, shape](const Tensor& g) {
    const Tensor y1 = y.dim() == 0 ? y.reshape({1}) : y, g1 = g.dim() == 0 ? g.reshape({1}) : g;
    const bool last = d == y1.dim() - 1;
    const Tensor y_rows = last ? y1 : y1.transpose(d, -1).contiguous();
    Tensor gx = along_dim(g1, d, [&](const Tensor& gr, const Tensor& gxr, int64_t rows, int64_t n) {
      backward_rows(kind, y_rows, gr, gxr, rows, n);
    });
    return std::vector<Tensor>{gx.reshape(shape)};
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op(Kind::softmax, x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op(Kind::log_softmax, x, dim); }

}  // namespace moe
