// ops/topk.cpp: topk over any dim: the dim is swapped to the end (a copy only when it
// is not already last), one kernel call over the (rows, n) matrix, and swapped back.
// Backward: scatter the output gradient to the selected positions.
#include "moe/ops/topk.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/to_device.h"
#include "moe/ops/index.h"

namespace moe {

TopK topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  check_float(x, "topk");
  const int d = wrap_dim(dim, x.dim(), "topk");
  const int last = static_cast<int>(x.dim()) - 1;
  const int64_t n = x.shape()[d];
  MOE_CHECK(k >= 0 && k <= n, "topk: k = {} out of range [0, {}] for dim {} of {}", k, n, d, x.str());
  Tensor rows = x.detach().transpose(d, last).contiguous();  // (..., n)
  Shape shape = rows.shape();
  shape[last] = k;
  Tensor values = Tensor::empty(shape, x.dtype(), x.device());
  Tensor indices = Tensor::empty(shape, DType::i64, x.device());
  const int64_t row_count = numel_of(Shape(shape.begin(), shape.end() - 1));
  switch (backend_of(x, "topk")) {
    case Backend::cpu_f32:
      kernels::cpu::topk(rows.data<float>(), values.data<float>(), indices.data<int64_t>(), row_count, n, k, largest);
      break;
    case Backend::ref_f64:
      kernels::ref::topk(rows.data<double>(), values.data<double>(), indices.data<int64_t>(), row_count, n, k,
                         largest);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("topk", kernels::cuda::topk(rows.data<float>(), values.data<float>(), indices.data<int64_t>(),
                                                row_count, n, k, largest));
      break;
  }
  if (d != last) {
    values = values.transpose(d, last).contiguous();
    indices = indices.transpose(d, last).contiguous();
  }
  const Shape x_shape = x.shape();
  record(values, "topk", {x}, [x_shape, d, indices](const Tensor& g) {
    return std::vector<Tensor>{scatter_add(zeros_on(x_shape, g.dtype(), g.device()), d, indices, g)};
  });
  return {values, indices};
}

}  // namespace moe
