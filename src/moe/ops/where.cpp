// ops/where.cpp: where and masked_fill over the where_into kernel: out starts as the
// "false" branch, then the kernel copies the "true" branch in where the mask is set.
#include "moe/ops/where.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/to_device.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/reduce.h"

namespace moe {

namespace {

// cond as a 0/1-valued tensor of dtype dt (through ne(cond, 0) in cond's own dtype, so
// no nonzero value can round to zero on the way, e.g. a float64 1e-300 as float32).
Tensor mask_as(const Tensor& cond, DType dt) {
  Tensor c = cond.detach();
  return c.dtype() == dt ? c : ne(c, full_on({}, 0.0, c.dtype(), c.device())).to(dt);
}

// out (contiguous) = mask ? a : out, with mask and a broadcast to out's shape.
void where_into(const Tensor& mask, const Tensor& a, const Tensor& out, const char* op) {
  const kernels::Strided g = make_strided(out.shape(), mask, &a);
  switch (backend_of(out, op)) {
    case Backend::cpu_f32:
      kernels::cpu::where_into(mask.data<float>(), a.data<float>(), out.data<float>(), g);
      break;
    case Backend::ref_f64:
      kernels::ref::where_into(mask.data<double>(), a.data<double>(), out.data<double>(), g, 0, g.rows());
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(op, kernels::cuda::where_into(mask.data<float>(), a.data<float>(), out.data<float>(), g));
      break;
  }
}

}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  MOE_CHECK(cond.defined(), "where: cond is undefined");
  check_float(a, "where");
  check_same_kind(a, b, "where");
  MOE_CHECK(cond.device() == a.device(), "where: cond {} is on {}, a {} on {}", cond.str(), device_name(cond.device()),
            a.str(), device_name(a.device()));
  const Shape ab = broadcast_shapes(a.shape(), b.shape(), "where");
  const Shape shape = broadcast_shapes(cond.shape(), ab, "where");
  Tensor mask = mask_as(cond, a.dtype());
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  out.copy_(b.detach());
  where_into(mask, a.detach(), out, "where");
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const Shape sa = a.shape(), sb = b.shape();
  record(out, "where", {a, b}, [mask, need_a, need_b, sa, sb](const Tensor& g) {
    Tensor zero = full_on({}, 0.0, g.dtype(), g.device());
    Tensor ga = need_a ? sum_to(where(mask, g, zero), sa) : Tensor();
    Tensor gb = need_b ? sum_to(where(mask, zero, g), sb) : Tensor();
    return std::vector<Tensor>{ga, gb};
  });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_float(x, "masked_fill");
  MOE_CHECK(mask.defined(), "masked_fill: mask is undefined");
  MOE_CHECK(broadcast_shapes(mask.shape(), x.shape(), "masked_fill") == x.shape(),
            "masked_fill: mask {} does not broadcast to input {}", mask.str(), x.str());
  Tensor m = mask_as(mask, x.dtype());
  Tensor out = x.detach().clone();
  where_into(m, full_on({}, value, x.dtype(), x.device()), out, "masked_fill");
  record(out, "masked_fill", {x}, [m](const Tensor& g) { return std::vector<Tensor>{masked_fill(g, m, 0.0)}; });
  return out;
}

}  // namespace moe
