// ops/dispatch.h: which kernel backend runs an op, and the strided geometry builder.
// Ops choose with a visible switch:
//   switch (backend_of(x, "relu")) { case Backend::cpu_f32: ...; case Backend::ref_f64: ...; }
#pragma once
#include "moe/core/tensor.h"
#include "moe/kernels/kernels.h"

namespace moe {

enum class Backend { cpu_f32, ref_f64, cuda_f32 };

// The body of `case Backend::cuda_f32:`: the statement (a kernels::cuda:: call) when the
// CUDA backend is built, else a moe::Error "<op>: CUDA backend not built". Without
// MOE_CUDA the statement is not compiled, so no kernels::cuda symbol is needed.
#ifdef MOE_CUDA
#define MOE_CUDA_ONLY(op_name, ...) __VA_ARGS__
#else
#define MOE_CUDA_ONLY(op_name, ...) throw ::moe::Error(::fmt::format("{}: CUDA backend not built", op_name))
#endif

// The backend for a floating tensor; throws naming `op` for int tensors.
Backend backend_of(const Tensor& t, const char* op);
// Checks that all tensors share dtype and device; throws naming `op` and the two tensors.
void check_same_kind(const Tensor& a, const Tensor& b, const char* op);
void check_float(const Tensor& t, const char* op);

// Geometry for an elementwise op with contiguous output of `out_shape`, reading `a`
// (and `b`) broadcast to it, with size-1 dims dropped and compatible dims merged.
kernels::Strided make_strided(const Shape& out_shape, const Tensor& a, const Tensor* b = nullptr);

// C[c_off..] (M, N) = op(A[a_off..]) op(B[b_off..]) + beta C on the tensors' backend
// (offsets in elements from each tensor's first element; row-major leading dims).
void gemm_at(const char* op, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const Tensor& A,
             int64_t a_off, int64_t lda, const Tensor& B, int64_t b_off, int64_t ldb, double beta,
             const Tensor& C, int64_t c_off, int64_t ldc);

}  // namespace moe
