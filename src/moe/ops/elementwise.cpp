// ops/elementwise.cpp: elementwise ops; backward in terms of other ops.
#include "moe/ops/elementwise.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/to_device.h"
#include "moe/ops/reduce.h"

namespace moe {

using kernels::Binary;
using kernels::Unary;

namespace {

const char* binary_name(Binary op) {
  switch (op) {
    case Binary::add: return "add";
    case Binary::sub: return "sub";
    case Binary::mul: return "mul";
    case Binary::div: return "div";
    case Binary::maximum: return "maximum";
    case Binary::minimum: return "minimum";
    case Binary::eq: return "eq";
    case Binary::ne: return "ne";
    case Binary::lt: return "lt";
    case Binary::le: return "le";
    case Binary::gt: return "gt";
    case Binary::ge: return "ge";
  }
  return "binary";
}

const char* unary_name(Unary op) {
  switch (op) {
    case Unary::neg: return "neg";
    case Unary::exp: return "exp";
    case Unary::log: return "log";
    case Unary::sqrt: return "sqrt";
    case Unary::tanh: return "tanh";
    case Unary::sigmoid: return "sigmoid";
    case Unary::relu: return "relu";
    case Unary::gelu: return "gelu";
    case Unary::silu: return "silu";
    case Unary::softplus: return "softplus";
    case Unary::abs: return "abs";
    case Unary::square: return "square";
    case Unary::pow: return "pow";
    case Unary::sign: return "sign";
    case Unary::step: return "step";
    case Unary::normal_cdf: return "normal_cdf";
  }
  return "unary";
}

// The forward kernel call only (no autograd).
Tensor binary_forward(Binary op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  check_same_kind(a, b, name);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  kernels::Strided g = make_strided(shape, a, &b);
  const int64_t rows = g.rows();
  if (a.device() == Device::CUDA) {
    MOE_CUDA_ONLY(binary_name(op), kernels::cuda::binary(op, a.data<float>(), b.data<float>(), out.data<float>(), g));
    return out;
  }
  switch (a.dtype()) {
    case DType::f32: kernels::cpu::binary(op, a.data<float>(), b.data<float>(), out.data<float>(), g); break;
    case DType::f64: kernels::ref::binary(op, a.data<double>(), b.data<double>(), out.data<double>(), g, 0, rows); break;
    case DType::i32: kernels::ref::binary(op, a.data<int32_t>(), b.data<int32_t>(), out.data<int32_t>(), g, 0, rows); break;
    case DType::i64: kernels::ref::binary(op, a.data<int64_t>(), b.data<int64_t>(), out.data<int64_t>(), g, 0, rows); break;
  }
  return out;
}

Tensor unary_forward(Unary op, const Tensor& x_in, double param) {
  Tensor x = x_in.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  switch (backend_of(x, unary_name(op))) {
    case Backend::cpu_f32:
      kernels::cpu::unary(op, x.data<float>(), out.data<float>(), x.numel(), static_cast<float>(param));
      break;
    case Backend::ref_f64:
      kernels::ref::unary(op, x.data<double>(), out.data<double>(), x.numel(), param);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(unary_name(op), kernels::cuda::unary(op, x.data<float>(), out.data<float>(), x.numel(),
                                                         static_cast<float>(param)));
      break;
  }
  return out;
}

// gx = gy * op'(x), one fused kernel (x and y contiguous, saved from forward).
Tensor unary_backward(Unary op, const Tensor& x, const Tensor& y, const Tensor& gy_in, double param) {
  Tensor gy = gy_in.contiguous();
  Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device());
  switch (backend_of(x, unary_name(op))) {
    case Backend::cpu_f32:
      kernels::cpu::unary_backward(op, x.data<float>(), y.defined() ? y.data<float>() : nullptr, gy.data<float>(),
                                   gx.data<float>(), x.numel(), static_cast<float>(param));
      break;
    case Backend::ref_f64:
      kernels::ref::unary_backward(op, x.data<double>(), y.defined() ? y.data<double>() : nullptr,
                                   gy.data<double>(), gx.data<double>(), x.numel(), param);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(unary_name(op), kernels::cuda::unary_backward(op, x.data<float>(), y.defined() ? y.data<float>() : nullptr,
                                                                  gy.data<float>(), gx.data<float>(), x.numel(),
                                                                  static_cast<float>(param)));
      break;
  }
  return gx;
}

bool backward_uses_output(Unary op) {
  return op == Unary::exp || op == Unary::sqrt || op == Unary::tanh || op == Unary::sigmoid;
}

Tensor unary_op(Unary op, const Tensor& x, double param = 0.0) {
  check_float(x, unary_name(op));
  Tensor out = unary_forward(op, x, param);
  if (needs_grad({&x})) {
    Tensor xs = x.contiguous().detach();
    Tensor ys = backward_uses_output(op) ? out.detach() : Tensor();
    record(out, unary_name(op), {x}, [op, xs, ys, param](const Tensor& g) {
      return std::vector<Tensor>{unary_backward(op, xs, ys, g, param)};
    });
  }
  return out;
}

Tensor binary_op(Binary op, const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(op, a, b);
  if (!needs_grad({&a, &b})) return out;
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const Shape sa = a.shape(), sb = b.shape();
  // Operands are saved only when the gradient reads them (not for add and sub).
  const bool save = op != Binary::add && op != Binary::sub;
  Tensor ad = save ? a.detach() : Tensor(), bd = save ? b.detach() : Tensor();
  record(out, binary_name(op), {a, b}, [=](const Tensor& g) {
    Tensor ga, gb;
    switch (op) {
      case Binary::add:
        if (need_a) ga = sum_to(g, sa);
        if (need_b) gb = sum_to(g, sb);
        break;
      case Binary::sub:
        if (need_a) ga = sum_to(g, sa);
        if (need_b) gb = sum_to(neg(g), sb);
        break;
      case Binary::mul:
        if (need_a) ga = sum_to(mul(g, bd), sa);
        if (need_b) gb = sum_to(mul(g, ad), sb);
        break;
      case Binary::div:
        if (need_a) ga = sum_to(div(g, bd), sa);
        if (need_b) gb = sum_to(neg(div(mul(g, ad), mul(bd, bd))), sb);
        break;
      case Binary::maximum:
      case Binary::minimum: {
        Tensor pick_a = op == Binary::maximum ? ge(ad, bd) : le(ad, bd);  // ties go to a
        if (need_a) ga = sum_to(mul(g, pick_a), sa);
        if (need_b) gb = sum_to(mul(g, add(neg(pick_a), 1.0)), sb);
        break;
      }
      default: break;
    }
    return std::vector<Tensor>{ga, gb};
  });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_op(Binary::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op(Binary::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(Binary::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op(Binary::div, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary_op(Binary::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary_op(Binary::minimum, a, b); }

Tensor add(const Tensor& a, double s) { return binary_op(Binary::add, a, full_on({}, s, a.dtype(), a.device())); }
Tensor mul(const Tensor& a, double s) { return binary_op(Binary::mul, a, full_on({}, s, a.dtype(), a.device())); }
Tensor pow(const Tensor& x, double p) { return unary_op(Unary::pow, x, p); }

Tensor neg(const Tensor& x) { return unary_op(Unary::neg, x); }
Tensor exp(const Tensor& x) { return unary_op(Unary::exp, x); }
Tensor log(const Tensor& x) { return unary_op(Unary::log, x); }
Tensor sqrt(const Tensor& x) { return unary_op(Unary::sqrt, x); }
Tensor tanh(const Tensor& x) { return unary_op(Unary::tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary_op(Unary::sigmoid, x); }
Tensor relu(const Tensor& x) { return unary_op(Unary::relu, x); }
Tensor gelu(const Tensor& x) { return unary_op(Unary::gelu, x); }
Tensor silu(const Tensor& x) { return unary_op(Unary::silu, x); }
Tensor softplus(const Tensor& x) { return unary_op(Unary::softplus, x); }
Tensor abs(const Tensor& x) { return unary_op(Unary::abs, x); }
Tensor square(const Tensor& x) { return unary_op(Unary::square, x); }
Tensor normal_cdf(const Tensor& x) { return unary_op(Unary::normal_cdf, x); }

Tensor activation(const Tensor& x, const std::string& name) {
  if (name == "relu") return relu(x);
  if (name == "gelu") return gelu(x);
  if (name == "silu") return silu(x);
  if (name == "tanh") return tanh(x);
  if (name == "sigmoid") return sigmoid(x);
  if (name == "identity") return x;
  throw Error(fmt::format("unknown activation '{}' (expected relu, gelu, silu, tanh, sigmoid or identity)", name));
}

Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward(Binary::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_forward(Binary::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward(Binary::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_forward(Binary::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward(Binary::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_forward(Binary::ge, a, b); }

}  // namespace moe
