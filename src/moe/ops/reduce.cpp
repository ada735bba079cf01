// ops/reduce.cpp: reductions over one or more dims (each dim one kernel pass over
// the (outer, n, inner) view of a contiguous tensor).
#include "moe/ops/reduce.h"

#include <algorithm>

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/elementwise.h"

namespace moe {

namespace {

// (outer, n, inner) sizes of a contiguous tensor around dim d.
void split_at(const Shape& s, int d, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= s[i];
  n = s[d];
  for (size_t i = d + 1; i < s.size(); ++i) inner *= s[i];
}

// Sum over dim d keeping it (size 1); no autograd.
Tensor sum_dim_raw(const Tensor& x_in, int d) {
  Tensor x = x_in.contiguous();
  Shape s = x.shape();
  int64_t outer, n, inner;
  split_at(s, d, outer, n, inner);
  s[d] = 1;
  Tensor out = Tensor::empty(s, x.dtype(), x.device());
  switch (backend_of(x, "sum")) {
    case Backend::cpu_f32: kernels::cpu::reduce_sum(x.data<float>(), out.data<float>(), outer, n, inner); break;
    case Backend::ref_f64: kernels::ref::reduce_sum(x.data<double>(), out.data<double>(), outer, n, inner); break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("sum", kernels::cuda::reduce_sum(x.data<float>(), out.data<float>(), outer, n, inner));
      break;
  }
  return out;
}

std::vector<int> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<int> out;
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  MOE_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), "{}: repeated dim", op);
  return out;
}

Shape drop_dims(const Shape& s, const std::vector<int>& dims) {
  Shape out;
  for (int i = 0; i < static_cast<int>(s.size()); ++i)
    if (!std::binary_search(dims.begin(), dims.end(), i)) out.push_back(s[i]);
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  check_float(x, "sum");
  std::vector<int> dims = normalize_dims(dims_in, x.dim(), "sum");
  Tensor out = x;
  {
    NoGradGuard no_grad;
    for (int d : dims) out = sum_dim_raw(out, d);
    if (dims.empty()) out = x.clone();
    if (!keepdim) out = out.view(drop_dims(x.shape(), dims));
  }
  Shape in_shape = x.shape(), kept = x.shape();
  for (int d : dims) kept[d] = 1;
  record(out, "sum", {x}, [in_shape, kept](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(kept).expand(in_shape).contiguous()};
  });
  return out;
}

Tensor sum(const Tensor& x) {
  std::vector<int64_t> all(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) all[i] = i;
  if (x.dim() == 0) return x.clone();
  return sum(x, all, false);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t count = 1;
  for (int d : normalize_dims(dims, x.dim(), "mean")) count *= x.shape()[d];
  return mul(sum(x, dims, keepdim), 1.0 / static_cast<double>(std::max<int64_t>(count, 1)));
}

Tensor mean(const Tensor& x) { return mul(sum(x), 1.0 / static_cast<double>(std::max<int64_t>(x.numel(), 1))); }

namespace {
// Values and argmax along d (d kept as size 1).
void max_raw(const Tensor& x_in, int d, Tensor& values, Tensor& index) {
  Tensor x = x_in.contiguous();
  Shape s = x.shape();
  int64_t outer, n, inner;
  split_at(s, d, outer, n, inner);
  MOE_CHECK(n > 0, "max: dim {} of {} is empty", d, x.str());
  s[d] = 1;
  values = Tensor::empty(s, x.dtype(), x.device());
  index = Tensor::empty(s, DType::i64, x.device());
  switch (backend_of(x, "max")) {
    case Backend::cpu_f32:
      kernels::cpu::reduce_max(x.data<float>(), values.data<float>(), index.data<int64_t>(), outer, n, inner);
      break;
    case Backend::ref_f64:
      kernels::ref::reduce_max(x.data<double>(), values.data<double>(), index.data<int64_t>(), outer, n, inner);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("max", kernels::cuda::reduce_max(x.data<float>(), values.data<float>(), index.data<int64_t>(), outer,
                                                     n, inner));
      break;
  }
}
}  // namespace

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  int d = wrap_dim(dim, x.dim(), "max");
  Tensor values, index;
  max_raw(x, d, values, index);
  Shape kept = values.shape();
  if (!keepdim) {
    values = values.view(drop_dims(x.shape(), {d}));
  }
  Shape in_shape = x.shape();
  int64_t outer, n, inner;
  split_at(in_shape, d, outer, n, inner);
  record(values, "max", {x}, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    MOE_CHECK(g.device() == Device::CPU, "max backward: not implemented for CUDA tensors ({})", g.str());
    Tensor gx = Tensor::zeros(in_shape, g.dtype());
    const int64_t* idx = index.data<int64_t>();
    auto scatter = [&](auto* gp, auto* gxp) {
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < inner; ++j) gxp[(o * n + idx[o * inner + j]) * inner + j] = gp[o * inner + j];
    };
    if (g.dtype() == DType::f32) scatter(g.data<float>(), gx.data<float>());
    else scatter(g.data<double>(), gx.data<double>());
    return std::vector<Tensor>{gx};
  });
  return values;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  int d = wrap_dim(dim, x.dim(), "argmax");
  Tensor values, index;
  max_raw(x, d, values, index);
  return keepdim ? index : index.view(drop_dims(x.shape(), {d}));
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  MOE_CHECK(lead >= 0, "sum_to: cannot sum {} to {}", x.str(), shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i < lead) dims.push_back(i);
    else if (shape[i - lead] == 1 && x.shape()[i] != 1) dims.push_back(i);
    else MOE_CHECK(shape[i - lead] == x.shape()[i], "sum_to: cannot sum {} to {}", x.str(), shape_str(shape));
  }
  return sum(x, dims, true).reshape(shape);
}

}  // namespace moe
