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
  neg, exp, log, sqrt, tanh, sigmoid, relu, gelu, silu, softplus, abs, square, pow, sign, step, normal_cdf
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

// Hyperparameters of one optimizer update over one parameter (formulas in optim/sgd.h
// and optim/adam.h). `step` is the parameter's update count including this one (>= 1).
struct SgdHyper {
  double lr = 0, momentum = 0, weight_decay = 0;
  bool nesterov = false;
};
struct AdamHyper {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  bool decoupled_weight_decay = false;  // AdamW (true) or Adam's L2 term (false)
  int64_t step = 1;
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
// ---- MoE dispatch / combine (rows sorted by expert; see moe/moe/dispatch.h) ----
// out (A, D): out[p] = x[rows[p]] for p in [p0, p1).
template <class T>
void gather_rows(const T* x, const int64_t* rows, int64_t D, T* out, int64_t p0, int64_t p1);
// out (N, D): out[t] = sum over p in pos[off[t]..off[t+1]) of w[p] * ys[p] (w null: 1),
// tokens [t0, t1), summed in that fixed order.
template <class T>
void combine_rows(const T* ys, const T* w, const int64_t* off, const int64_t* pos, int64_t D, T* out, int64_t t0,
                  int64_t t1);
// Backward of combine for positions [p0, p1): dys[p] = w[p] g[token[p]],
// dw[p] = <g[token[p]], ys[p]> (either output may be null).
template <class T>
void combine_backward(const T* g, const T* ys, const T* w, const int64_t* token, int64_t D, T* dys, T* dw, int64_t p0,
                      int64_t p1);
// In-place optimizer updates over n elements; p: parameter, g: its gradient.
// momentum_buf may be null when h.momentum == 0.
template <class T> void sgd_update(T* p, const T* g, T* momentum_buf, int64_t n, const SgdHyper& h);
template <class T> void adam_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamHyper& h);
// adam_update on rows rows[0, nrows) (each row_len contiguous elements) of p, g, m, v:
// Adam's live rows of an embedding table (optim/adam.h).
template <class T>
void adam_update_rows(T* p, const T* g, T* m, T* v, int64_t row_len, const int64_t* rows, int64_t nrows,
                      const AdamHyper& h);
// Sum of x[i]^2 accumulated in double; x *= s in place; true when no NaN/Inf.
template <class T> double sum_squares(const T* x, int64_t n);
template <class T> void scale_inplace(T* x, int64_t n, T s);
template <class T> bool all_finite(const T* x, int64_t n);
// ---- softmax family: x, y, gx, gy: (rows, n) contiguous; one row at a time ----
// y = softmax(x) per row, the row max subtracted first (so exp never overflows).
template <class T> void softmax_rows(const T* x, T* y, int64_t rows, int64_t n);
// y = log_softmax(x) = x - max - log(sum(exp(x - max))) per row.
template <class T> void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n);
// Softmax Jacobian-vector product: gx = y * (gy - sum(gy * y)), y = softmax(x).
template <class T> void softmax_backward_rows(const T* y, const T* gy, T* gx, int64_t rows, int64_t n);
// gx = gy - exp(y) * sum(gy), y = log_softmax(x).
template <class T> void log_softmax_backward_rows(const T* y, const T* gy, T* gx, int64_t rows, int64_t n);
// Fused softmax cross-entropy, logits: (rows, classes), target: (rows), already in
// [0, classes) or == ignore_index. loss[r] = lse[r] - logits[r, target[r]] with
// lse = logsumexp of the row; ignored rows get loss 0 and lse 0.
template <class T>
void cross_entropy_rows(const T* logits, const int64_t* target, T* loss, T* lse, int64_t rows,
                        int64_t classes, int64_t ignore_index);
// glogits = (softmax(logits) - onehot(target)) * scale, from the saved lse; ignored rows 0.
template <class T>
void cross_entropy_backward_rows(const T* logits, const int64_t* target, const T* lse, T scale,
                                 T* glogits, int64_t rows, int64_t classes, int64_t ignore_index);
// ---- norm family: x, y, gy, gx: (rows, C) contiguous; weight, bias, gweight, gbias: (C)
// or null; mean, rstd: (rows) ----
// Layer norm (Ba et al. 2016): y = (x - mean) * rstd * weight + bias, rstd = 1/sqrt(var + eps).
template <class T>
void layer_norm_rows(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t rows,
                     int64_t C, T eps);
// dx from the saved mean/rstd; gweight = sum_rows(gy * xhat), gbias = sum_rows(gy) (written,
// not accumulated; null when not wanted).
template <class T>
void layer_norm_backward_rows(const T* x, const T* weight, const T* mean, const T* rstd, const T* gy, T* gx,
                              T* gweight, T* gbias, int64_t rows, int64_t C);
// RMS norm (Zhang & Sennrich 2019): y = x * rstd * weight, rstd = 1/sqrt(mean(x^2) + eps).
template <class T>
void rms_norm_rows(const T* x, const T* weight, T* y, T* rstd, int64_t rows, int64_t C, T eps);
// dx from the saved rstd; gweight = sum_rows(gy * x * rstd) (written; null when not wanted).
template <class T>
void rms_norm_backward_rows(const T* x, const T* weight, const T* rstd, const T* gy, T* gx, T* gweight,
                            int64_t rows, int64_t C);
// ---- index family (kernels/ref/index.cpp). Indices are in range (ops check them).
// Embedding is index_select / index_add with outer = 1 (weight (V, D) as (1, V, D)).
// x: (outer, n, inner), index: (K) -> out: (outer, K, inner) = x[:, index[k], :].
template <class T>
void index_select(const T* x, const int64_t* index, T* out, int64_t outer, int64_t n, int64_t K,
                  int64_t inner);
// out: (outer, n, inner) += src: (outer, K, inner) at rows index (K), for inner columns
// [col_begin, col_end); each output element sums its contributions in ascending k.
template <class T>
void index_add(T* out, const int64_t* index, const T* src, int64_t outer, int64_t n, int64_t K,
               int64_t inner, int64_t col_begin, int64_t col_end);
// x: (outer, n, inner), index: (outer, K, inner) -> out[o, k, j] = x[o, index[o, k, j], j].
template <class T>
void gather(const T* x, const int64_t* index, T* out, int64_t outer, int64_t n, int64_t K,
            int64_t inner);
// out[o, index[o, k, j], j] += src[o, k, j] (out (outer, n, inner); index, src
// (outer, K, inner)), inner columns [col_begin, col_end), ascending k.
template <class T>
void scatter_add(T* out, const int64_t* index, const T* src, int64_t outer, int64_t n, int64_t K,
                 int64_t inner, int64_t col_begin, int64_t col_end);
// x: (rows, n) -> values, indices: (rows, k), the k largest (or smallest) of each row,
// sorted best first; ties (and NaNs, which rank above every number) go to the lower index.
template <class T>
void topk(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k, bool largest);
// out[i] = mask[i] != 0 ? a[i] : out[i] over rows [row_begin, row_end) of `g` (mask read
// at g.stride_a, a at g.stride_b, out contiguous): where() and masked_fill().
template <class T>
void where_into(const T* mask, const T* a, T* out, const Strided& g, int64_t row_begin, int64_t row_end);
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
// ---- sparse family (kernels/ref/sparse.cpp): W (out, in) in CSR over its live entries:
// row_ptr (out + 1), col (nnz), w (nnz); every loop costs O(nnz) per batch row, never
// O(out * in). Used by sparse/sparse_linear.h (SET, Mocanu et al. 2018).
// y (B, out) = x (B, in) W^T + bias (bias null: none), batch rows [b0, b1).
template <class T>
void csr_linear_forward(const T* x, const int64_t* row_ptr, const int64_t* col, const T* w, const T* bias, T* y,
                        int64_t in, int64_t out, int64_t b0, int64_t b1);
// gx (B, in) = gy (B, out) W (overwritten), batch rows [b0, b1).
template <class T>
void csr_linear_backward_x(const T* gy, const int64_t* row_ptr, const int64_t* col, const T* w, T* gx, int64_t in,
                           int64_t out, int64_t b0, int64_t b1);
// gw[e] = sum_b gy[b, r(e)] x[b, col[e]] for the entries of output rows [r0, r1)
// (overwritten), summed in ascending b.
template <class T>
void csr_linear_backward_w(const T* x, const T* gy, const int64_t* row_ptr, const int64_t* col, T* gw, int64_t B,
                           int64_t in, int64_t out, int64_t r0, int64_t r1);
// ---- scan family (kernels/ref/scan.cpp): x, y, gy, gx: (rows, n) contiguous ----
// Cumulative product along each row: y[j] = prod_{i <= j} x[i], or prod_{i < j} x[i]
// (y[0] = 1) when exclusive (the DNC's allocation weighting, Graves et al. 2016 eq. 1).
template <class T> void cumprod_rows(const T* x, T* y, int64_t rows, int64_t n, bool exclusive);
// gx[k] = sum_j gy[j] dy[j]/dx[k] without dividing by x (zeros are allowed):
// gx[k] = E[k] * S[k], E the exclusive product and S[k] = sum_{j >= k} gy[j] prod_{k < i <= j} x[i]
// (j > k and i < j when exclusive), summed from the end of the row.
template <class T>
void cumprod_backward_rows(const T* x, const T* gy, T* gx, int64_t rows, int64_t n, bool exclusive);
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

#define MOE_DISPATCH_KERNELS(T)                                                                     \
  void gather_rows(const T* x, const int64_t* rows, int64_t A, int64_t D, T* out);                   \
  void combine_rows(const T* ys, const T* w, const int64_t* off, const int64_t* pos, int64_t N,       \
                    int64_t D, T* out);                                                              \
  void combine_backward(const T* g, const T* ys, const T* w, const int64_t* token, int64_t A,         \
                        int64_t D, T* dys, T* dw);

#define MOE_OPTIM_KERNELS(T)                                                          \
  void sgd_update(T* p, const T* g, T* momentum_buf, int64_t n, const SgdHyper& h);   \
  void adam_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamHyper& h);      \
  double sum_squares(const T* x, int64_t n);                                          \
  void scale_inplace(T* x, int64_t n, T s);                                           \
  bool all_finite(const T* x, int64_t n);

#define MOE_SOFTMAX_KERNELS(T)                                                                     \
  void softmax_rows(const T* x, T* y, int64_t rows, int64_t n);                                    \
  void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n);                                \
  void softmax_backward_rows(const T* y, const T* gy, T* gx, int64_t rows, int64_t n);             \
  void log_softmax_backward_rows(const T* y, const T* gy, T* gx, int64_t rows, int64_t n);         \
  void cross_entropy_rows(const T* logits, const int64_t* target, T* loss, T* lse, int64_t rows,   \
                          int64_t classes, int64_t ignore_index);                                  \
  void cross_entropy_backward_rows(const T* logits, const int64_t* target, const T* lse, T scale,  \
                                   T* glogits, int64_t rows, int64_t classes, int64_t ignore_index);

// Norm backward kernels write gweight/gbias (not +=): the fast backends sum per-thread
// partials in a fixed order, so the result is deterministic for a given thread count.
#define MOE_NORM_KERNELS(T)                                                                        \
  void layer_norm_rows(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd,          \
                       int64_t rows, int64_t C, T eps);                                            \
  void layer_norm_backward_rows(const T* x, const T* weight, const T* mean, const T* rstd,          \
                                const T* gy, T* gx, T* gweight, T* gbias, int64_t rows, int64_t C); \
  void rms_norm_rows(const T* x, const T* weight, T* y, T* rstd, int64_t rows, int64_t C, T eps);   \
  void rms_norm_backward_rows(const T* x, const T* weight, const T* rstd, const T* gy, T* gx,       \
                              T* gweight, int64_t rows, int64_t C);

#define MOE_INDEX_KERNELS(T)                                                                  \
  void index_select(const T* x, const int64_t* index, T* out, int64_t outer, int64_t n,        \
                    int64_t K, int64_t inner);                                                 \
  void index_add(T* out, const int64_t* index, const T* src, int64_t outer, int64_t n,         \
                 int64_t K, int64_t inner);                                                    \
  void gather(const T* x, const int64_t* index, T* out, int64_t outer, int64_t n, int64_t K,   \
              int64_t inner);                                                                  \
  void scatter_add(T* out, const int64_t* index, const T* src, int64_t outer, int64_t n,       \
                   int64_t K, int64_t inner);                                                  \
  void topk(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k,       \
            bool largest);                                                                     \
  void where_into(const T* mask, const T* a, T* out, const Strided& g);

#define MOE_ATTENTION_KERNELS(T)                                                             \
  void attention_forward(const T* q, const T* k, const T* v, T* out, T* probs, int64_t BH,     \
                         int64_t Tn, int64_t D, bool causal, T scale);                         \
  void attention_backward(const T* q, const T* k, const T* v, const T* probs, const T* gout,   \
                          T* gq, T* gk, T* gv, int64_t BH, int64_t Tn, int64_t D, bool causal, \
                          T scale);

#define MOE_SPARSE_KERNELS(T)                                                                       \
  void csr_linear_forward(const T* x, const int64_t* row_ptr, const int64_t* col, const T* w, const T* bias, \
                          T* y, int64_t B, int64_t in, int64_t out);                                 \
  void csr_linear_backward_x(const T* gy, const int64_t* row_ptr, const int64_t* col, const T* w, T* gx, \
                             int64_t B, int64_t in, int64_t out);                                    \
  void csr_linear_backward_w(const T* x, const T* gy, const int64_t* row_ptr, const int64_t* col, T* gw, \
                             int64_t B, int64_t in, int64_t out);
#define MOE_SCAN_KERNELS(T)                                                                 \
  void cumprod_rows(const T* x, T* y, int64_t rows, int64_t n, bool exclusive);             \
  void cumprod_backward_rows(const T* x, const T* gy, T* gx, int64_t rows, int64_t n,       \
                             bool exclusive);

// One family per line, each line ending in a backslash, so branches can add theirs.
#define MOE_FAST_KERNELS(T)  \
  MOE_ELEMENTWISE_KERNELS(T) \
  MOE_GEMM_KERNELS(T)        \
  MOE_DISPATCH_KERNELS(T)    \
  MOE_OPTIM_KERNELS(T)       \
  MOE_SOFTMAX_KERNELS(T)     \
  MOE_NORM_KERNELS(T)        \
  MOE_INDEX_KERNELS(T)       \
  MOE_ATTENTION_KERNELS(T)   \
  MOE_SPARSE_KERNELS(T)      \
  MOE_SCAN_KERNELS(T)        \
  /* end of the family list */
// Attention over BH = batch * heads slices (see ref::attention_forward).

namespace cpu {
MOE_FAST_KERNELS(float)
// CPU only (optim/adam.cpp queues a step's float32 updates). One optimizer step's Adam updates over many parameters in ONE parallel region (a
// fork/join per parameter cost more than the update of a small model's parameters):
// segment k is adam_update(p, g, m, v, n, h) or, with rows, adam_update_rows(..., row_len,
// rows, n / row_len, h). The same bits as those calls.
struct AdamSegment {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;  // elements updated
  AdamHyper h;
  const int64_t* rows = nullptr;  // with row_len: rows of row_len elements (n = rows x row_len)
  int64_t row_len = 0;
};
void adam_update_segments(const AdamSegment* segments, int64_t count);
// The built-in blocked GEMM (the MOE_BLAS=none backend; also benchmarked against BLAS).
void gemm_blocked(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc);
}  // namespace cpu

#ifdef MOE_CUDA
// Device pointers throughout; every kernel runs on the process's one stream
// (core/cuda/check.h) and returns without synchronising unless it returns a host value.
namespace cuda {
MOE_FAST_KERNELS(float)

// ---- CUDA-only kernels (kernels/cuda/*.cu) ----
// Integer copies, so index tensors can be made contiguous on the device.
void copy_strided(const int32_t* src, int32_t* dst, const Strided& g);
void copy_strided(const int64_t* src, int64_t* dst, const Strided& g);
// bf16 storage (raw bits in uint16_t, round to nearest even) and the mixed-precision GEMM:
// bf16 A and B, fp32 accumulation (cublasGemmEx, CUBLAS_COMPUTE_32F), fp32 or bf16 C.
void f32_to_bf16(const float* x, uint16_t* y, int64_t n);
void bf16_to_f32(const uint16_t* x, float* y, int64_t n);
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
               int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm_bf16_out_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                        const uint16_t* A, int64_t lda, const uint16_t* B, int64_t ldb, float beta, uint16_t* C,
                        int64_t ldc);
// The MoE expert GEMM over E contiguous segments in one cuBLAS call
// (cublasGemmGroupedBatchedEx): for each e with rows [offsets[e], offsets[e+1]) of X (A, K),
// Y[rows] (n_e, N) = X[rows] op(W[e]) + beta Y[rows]; W: (E, N, K) if trans_w else (E, K, N).
// offsets is on the host (E + 1); empty segments are skipped. bf16 variant: fp32 accumulate.
void grouped_gemm(const float* X, const float* W, float* Y, const int64_t* offsets, int64_t E, int64_t N,
                  int64_t K, bool trans_w, float beta);
void grouped_gemm_bf16(const uint16_t* X, const uint16_t* W, uint16_t* Y, const int64_t* offsets, int64_t E,
                       int64_t N, int64_t K, bool trans_w, float beta);
// The weight gradient of grouped_gemm: dW[e] (N, K) (+)= dY[rows]^T X[rows] (trans_w layout).
void grouped_gemm_weight_grad(const float* X, const float* dY, float* dW, const int64_t* offsets, int64_t E,
                              int64_t N, int64_t K, float beta);
void grouped_gemm_weight_grad_bf16(const uint16_t* X, const uint16_t* dY, uint16_t* dW, const int64_t* offsets,
                                   int64_t E, int64_t N, int64_t K, float beta);
// Dropout mask: mask[i] = scale where Rng::uniform_at(seed, first + i) >= p, else 0: the
// same Philox4x32-10 bits as moe::Rng, so CPU and GPU draw the same mask for one seed.
void dropout_mask(float* mask, int64_t n, double p, float scale, uint64_t seed, uint64_t first);
// Token-choice routing plan on the device (the same plan as moe::plan_token_choice):
// experts (N*k) -> a stable counting sort by expert: a per-expert histogram, an
// exclusive scan, and a scatter in which each assignment's place is its rank among the
// earlier assignments of its expert (no order-dependent atomics). With capacity >= 0,
// each expert keeps its `capacity` highest-scoring assignments (ties: lower assignment).
// Outputs (device): expert_offsets (E + 1), pos_token, pos_gate (A = expert_offsets[E],
// at most N*k), token_offsets (N + 1), token_positions (A), dropped_per_slot (k).
// Returns A (one device-to-host read).
int64_t plan_token_choice(const int64_t* experts, const float* scores, int64_t N, int64_t k, int64_t E,
                          int64_t capacity, int64_t* expert_offsets, int64_t* pos_token, int64_t* pos_gate,
                          int64_t* token_offsets, int64_t* token_positions, int64_t* dropped_per_slot);
// Expert choice (Zhou et al. 2022) on the device: expert e takes the C = min(capacity, N)
// highest scores[:, e] (ties: lower token), in token order; A = E * C.
void plan_expert_choice(const float* scores, int64_t N, int64_t E, int64_t capacity, int64_t* expert_offsets,
                        int64_t* pos_token, int64_t* pos_gate, int64_t* token_offsets, int64_t* token_positions);
// Fused causal/full attention in the style of FlashAttention-2 (Dao 2023, Alg. 1 and 2):
// one pass over the keys per query block with an online softmax, no (T, T) matrix in
// memory. q, k, v, out, gout, gq, gk, gv: (BH, T, D) contiguous, D <= 128; lse: (BH, T),
// the row logsumexp saved by the forward for the backward.
void flash_attention_forward(const float* q, const float* k, const float* v, float* out, float* lse, int64_t BH,
                             int64_t Tn, int64_t D, bool causal, float scale);
void flash_attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                              const float* gout, float* gq, float* gk, float* gv, int64_t BH, int64_t Tn, int64_t D,
                              bool causal, float scale);
}  // namespace cuda
#endif

}  // namespace moe::kernels
