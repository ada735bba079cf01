// kernels.h: every kernel signature, declared once for the three backends:
//   ref::  naive loops templated on float/double: the readable spec, the float64
//          gradcheck backend, and the oracle the fast kernels are tested against;
//   cpu::  float32 kernels with OpenMP and BLAS (plain functions on raw pointers);
//   cuda:: the same signatures on device pointers (built only with MOE_CUDA).
// Kernels know nothing of tensors or autograd. Layout comments use row-major shapes.
#pragma once
#include <cstdint>

namespace moe::kernels {

enum class Unary : uint8_t {
  neg, exp, log, sqrt, tanh, sigmoid, relu, gelu, silu, softplus, abs, square, pow, sign, step
};
enum class Binary : uint8_t { add, sub, mul, div, maximum, minimum, eq, ne, lt, le, gt, ge };

// Geometry of an elementwise op whose output is contiguous with shape `shape`; each
// input is read at its own strides (0 on broadcast dims). Dims are coalesced so the
// last one is usually long and unit-stride.
inline constexpr int kMaxDims = 8;
struct Strided {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
  int64_t rows() const;       // product of all dims but the last
  int64_t row_len() const { return ndim ? shape[ndim - 1] : 1; }
};

namespace ref {
// y[i] = op(x[i]); `param` is the exponent for pow.
template <class T> void unary(Unary op, const T* x, T* y, int64_t n, T param);
// gx[i] = gy[i] * op'(x[i]) (y = op(x) given too: exp, tanh, sigmoid, sqrt use it).
template <class T>
void unary_backward(Unary op, const T* x, const T* y, const T* gy, T* gx, int64_t n, T param);
// out = op(a, b) over rows [row_begin, row_end) of `g` (out contiguous).
template <class T>
void binary(Binary op, const T* a, const T* b, T* out, const Strided& g, int64_t row_begin,
            int64_t row_end);
// dst (written at g.stride_b) = src (read at g.stride_a), rows [row_begin, row_end).
template <class T>
void copy_strided(const T* src, T* dst, const Strided& g, int64_t row_begin, int64_t row_end);
// x: (outer, n, inner) -> out: (outer, inner): sum / max over the middle dim.
template <class T> void reduce_sum(const T* x, T* out, int64_t outer, int64_t n, int64_t inner);
template <class T>
void reduce_max(const T* x, T* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner);
// C (M, N) = alpha * op(A) op(B) + beta * C, row-major; op(A) is (M, K): A^T if trans_a.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);
// Scaled dot-product self-attention, one (batch, head) slice at a time, over slices
// [bh_begin, bh_end). q, k, v, out: (BH, T, D) contiguous; probs: (BH, T, T), the
// softmax probabilities, saved for the backward (zero above the diagonal if causal),
// or null when no backward will run (inference).
// A causal row t never reads keys or values after t.
template <class T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* probs, int64_t Tn, int64_t D,
                       bool causal, T scale, int64_t bh_begin, int64_t bh_end);
// From probs and gout (BH, T, D): gq, gk, gv (BH, T, D), overwritten.
template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* probs, const T* gout, T* gq,
                        T* gk, T* gv, int64_t Tn, int64_t D, bool causal, T scale,
                        int64_t bh_begin, int64_t bh_end);
}  // namespace ref

// The float32 fast backends (cpu::, cuda::) share these signatures, one macro per
// kernel family, so a kernel missing on a backend is a link error.
#define MOE_ELEMENTWISE_KERNELS(T)                                                        \
  void unary(Unary op, const T* x, T* y, int64_t n, T param);                             \
  void unary_backward(Unary op, const T* x, const T* y, const T* gy, T* gx, int64_t n,    \
                      T param);                                                           \
  void binary(Binary op, const T* a, const T* b, T* out, const Strided& g);               \
  void copy_strided(const T* src, T* dst, const Strided& g);                              \
  void reduce_sum(const T* x, T* out, int64_t outer, int64_t n, int64_t inner);           \
  void reduce_max(const T* x, T* out, int64_t* argmax, int64_t outer, int64_t n,          \
                  int64_t inner);

#define MOE_GEMM_KERNELS(T)                                                                  \
  void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, \
            int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Attention over BH = batch * heads slices (see ref::attention_forward).
#define MOE_ATTENTION_KERNELS(T)                                                             \
  void attention_forward(const T* q, const T* k, const T* v, T* out, T* probs, int64_t BH,     \
                         int64_t Tn, int64_t D, bool causal, T scale);                         \
  void attention_backward(const T* q, const T* k, const T* v, const T* probs, const T* gout,   \
                          T* gq, T* gk, T* gv, int64_t BH, int64_t Tn, int64_t D, bool causal, \
                          T scale);

#define MOE_FAST_KERNELS(T) \
  MOE_ELEMENTWISE_KERNELS(T) \
  MOE_GEMM_KERNELS(T) \
  MOE_ATTENTION_KERNELS(T)

namespace cpu {
MOE_FAST_KERNELS(float)
// The built-in blocked GEMM (the MOE_BLAS=none backend; also benchmarked against BLAS).
void gemm_blocked(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc);
}  // namespace cpu

#ifdef MOE_CUDA
namespace cuda {
MOE_FAST_KERNELS(float)
}  // namespace cuda
#endif

}  // namespace moe::kernels
