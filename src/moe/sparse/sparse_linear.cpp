// sparse/sparse_linear.cpp: the CSR linear op: shape checks, backend dispatch, backward.
#include "moe/sparse/sparse_linear.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/reduce.h"

namespace moe::sparse {

namespace {

void forward_into(const Tensor& x, const CsrPattern& p, const Tensor& w, const Tensor& b, const Tensor& y) {
  const int64_t B = x.size(0);
  switch (backend_of(x, "sparse_linear")) {
    case Backend::cpu_f32:
      kernels::cpu::csr_linear_forward(x.data<float>(), p.row_ptr.data(), p.col.data(), w.data<float>(),
                                       b.defined() ? b.data<float>() : nullptr, y.data<float>(), B, p.cols, p.rows);
      break;
    case Backend::ref_f64:
      kernels::ref::csr_linear_forward(x.data<double>(), p.row_ptr.data(), p.col.data(), w.data<double>(),
                                       b.defined() ? b.data<double>() : nullptr, y.data<double>(), p.cols, p.rows,
                                       int64_t{0}, B);
      break;
    case Backend::cuda_f32: throw Error("sparse_linear: CUDA backend not built");
  }
}

// gx (B, in) = g W.
Tensor grad_x(const Tensor& g, const CsrPattern& p, const Tensor& w) {
  const int64_t B = g.size(0);
  Tensor gx = Tensor::empty({B, p.cols}, g.dtype(), g.device());
  switch (backend_of(g, "sparse_linear")) {
    case Backend::cpu_f32:
      kernels::cpu::csr_linear_backward_x(g.data<float>(), p.row_ptr.data(), p.col.data(), w.data<float>(),
                                          gx.data<float>(), B, p.cols, p.rows);
      break;
    case Backend::ref_f64:
      kernels::ref::csr_linear_backward_x(g.data<double>(), p.row_ptr.data(), p.col.data(), w.data<double>(),
                                          gx.data<double>(), p.cols, p.rows, int64_t{0}, B);
      break;
    case Backend::cuda_f32: throw Error("sparse_linear: CUDA backend not built");
  }
  return gx;
}

// gw (nnz): gw[e] = sum_b g[b, row(e)] x[b, col(e)], only at live entries.
Tensor grad_values(const Tensor& x, const Tensor& g, const CsrPattern& p) {
  const int64_t B = g.size(0);
  Tensor gw = Tensor::empty({p.nnz()}, g.dtype(), g.device());
  switch (backend_of(g, "sparse_linear")) {
    case Backend::cpu_f32:
      kernels::cpu::csr_linear_backward_w(x.data<float>(), g.data<float>(), p.row_ptr.data(), p.col.data(),
                                          gw.data<float>(), B, p.cols, p.rows);
      break;
    case Backend::ref_f64:
      kernels::ref::csr_linear_backward_w(x.data<double>(), g.data<double>(), p.row_ptr.data(), p.col.data(),
                                          gw.data<double>(), B, p.cols, p.rows, int64_t{0}, p.rows);
      break;
    case Backend::cuda_f32: throw Error("sparse_linear: CUDA backend not built");
  }
  return gw;
}

}  // namespace

Tensor sparse_linear(const Tensor& x_in, const CsrPatternPtr& pattern, const Tensor& values_in, const Tensor& bias_in) {
  MOE_CHECK(pattern != nullptr, "sparse_linear: no CSR pattern");
  const CsrPattern& p = *pattern;
  check_float(x_in, "sparse_linear");
  check_same_kind(x_in, values_in, "sparse_linear");
  MOE_CHECK(x_in.dim() == 2 && x_in.size(1) == p.cols,
            "sparse_linear: x must be (B, in) with in = {} (the pattern is ({}, {})), got {}", p.cols, p.rows, p.cols,
            x_in.str());
  MOE_CHECK(values_in.dim() == 1 && values_in.size(0) == p.nnz(),
            "sparse_linear: values must be (nnz) = ({}) for a ({}, {}) pattern, got {}", p.nnz(), p.rows, p.cols,
            values_in.str());
  const bool has_bias = bias_in.defined();
  if (has_bias) {
    check_same_kind(x_in, bias_in, "sparse_linear");
    MOE_CHECK(bias_in.dim() == 1 && bias_in.size(0) == p.rows, "sparse_linear: bias must be (out) = ({}), got {}",
              p.rows, bias_in.str());
  }
  Tensor x = x_in.detach().contiguous(), w = values_in.detach().contiguous();
  Tensor b = has_bias ? bias_in.detach().contiguous() : Tensor();
  Tensor y = Tensor::empty({x.size(0), p.rows}, x.dtype(), x.device());
  forward_into(x, p, w, b, y);
  if (!needs_grad({&x_in, &values_in, &bias_in})) return y;
  const bool need_x = x_in.requires_grad(), need_w = values_in.requires_grad(),
             need_b = has_bias && bias_in.requires_grad();
  // Save only what backward needs: x for the values' gradient, the values for x's.
  Tensor xs = need_w ? x : Tensor(), ws = need_x ? w : Tensor();
  std::vector<Tensor> inputs{x_in, values_in};
  if (has_bias) inputs.push_back(bias_in);
  CsrPatternPtr kept = pattern;
  record(y, "sparse_linear", inputs, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    std::vector<Tensor> grads(has_bias ? 3 : 2);
    if (need_x) grads[0] = grad_x(g, *kept, ws);
    if (need_w) grads[1] = grad_values(xs, g, *kept);
    if (need_b) grads[2] = sum(g, {0});
    return grads;
  });
  return y;
}

}  // namespace moe::sparse
