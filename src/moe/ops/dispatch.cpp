#include "moe/ops/dispatch.h"

namespace moe {

Backend backend_of(const Tensor& t, const char* op) {
  MOE_CHECK(t.defined(), "{}: undefined tensor", op);
  if (t.device() == Device::CUDA) {
    MOE_CHECK(t.dtype() == DType::f32, "{}: CUDA tensors must be float32, got {}", op, dtype_name(t.dtype()));
    return Backend::cuda_f32;
  }
  switch (t.dtype()) {
    case DType::f32: return Backend::cpu_f32;
    case DType::f64: return Backend::ref_f64;
    default: break;
  }
  throw Error(fmt::format("{}: expected a float32 or float64 tensor, got {}", op, t.str()));
}

void check_same_kind(const Tensor& a, const Tensor& b, const char* op) {
  MOE_CHECK(a.defined() && b.defined(), "{}: undefined tensor operand", op);
  MOE_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch: {} vs {}", op, a.str(), b.str());
  MOE_CHECK(a.device() == b.device(), "{}: device mismatch: {} on {} vs {} on {}", op, a.str(),
            device_name(a.device()), b.str(), device_name(b.device()));
}

void check_float(const Tensor& t, const char* op) {
  MOE_CHECK(t.defined(), "{}: undefined tensor operand", op);
  MOE_CHECK(is_floating(t.dtype()), "{}: expected a floating tensor, got {}", op, t.str());
}

kernels::Strided make_strided(const Shape& out_shape, const Tensor& a, const Tensor* b) {
  const int n = static_cast<int>(out_shape.size());
  // Strides of x broadcast to out_shape (0 on broadcast and leading dims).
  auto bstrides = [&](const Tensor& x) {
    Shape s(n, 0);
    const int off = n - static_cast<int>(x.dim());
    for (int i = 0; i < x.dim(); ++i) s[off + i] = x.shape()[i] == 1 ? 0 : x.strides()[i];
    return s;
  };
  Shape sa = bstrides(a), sb = b ? bstrides(*b) : Shape(n, 0);
  kernels::Strided g;
  for (int i = 0; i < n; ++i) {
    if (out_shape[i] == 1) continue;
    if (g.ndim > 0) {
      int last = g.ndim - 1;  // merge dim i into the previous kept dim when both inputs allow
      if (g.stride_a[last] == sa[i] * out_shape[i] && g.stride_b[last] == sb[i] * out_shape[i]) {
        g.shape[last] *= out_shape[i];
        g.stride_a[last] = sa[i];
        g.stride_b[last] = sb[i];
        continue;
      }
    }
    MOE_CHECK(g.ndim < kernels::kMaxDims, "elementwise op: more than {} non-mergeable dims in {}",
              kernels::kMaxDims, shape_str(out_shape));
    g.shape[g.ndim] = out_shape[i];
    g.stride_a[g.ndim] = sa[i];
    g.stride_b[g.ndim] = sb[i];
    ++g.ndim;
  }
  if (g.ndim == 0) {  // a single element
    g.ndim = 1;
    g.shape[0] = 1;
  }
  return g;
}

void gemm_at(const char* op, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const Tensor& A, int64_t a_off,
             int64_t lda, const Tensor& B, int64_t b_off, int64_t ldb, double beta, const Tensor& C, int64_t c_off,
             int64_t ldc) {
  if (M == 0 || N == 0) return;
  switch (backend_of(C, op)) {
    case Backend::cpu_f32:
      kernels::cpu::gemm(ta, tb, M, N, K, 1.0f, A.data<float>() + a_off, lda, B.data<float>() + b_off, ldb,
                         static_cast<float>(beta), C.data<float>() + c_off, ldc);
      break;
    case Backend::ref_f64:
      kernels::ref::gemm<double>(ta, tb, M, N, K, 1.0, A.data<double>() + a_off, lda, B.data<double>() + b_off, ldb,
                                 beta, C.data<double>() + c_off, ldc);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(op, kernels::cuda::gemm(ta, tb, M, N, K, 1.0f, A.data<float>() + a_off, lda, B.data<float>() + b_off,
                                            ldb, static_cast<float>(beta), C.data<float>() + c_off, ldc));
      break;
  }
}

}  // namespace moe
