// ref/sparse.cpp: the CSR sparse linear map y = x W^T + b and its two gradients, as plain
// loops over the live entries (the spec for cpu:: and the float64 gradcheck backend).
#include "moe/kernels/kernels.h"

namespace moe::kernels::ref {

template <class T>
void csr_linear_forward(const T* x, const int64_t* row_ptr, const int64_t* col, const T* w, const T* bias, T* y,
                        int64_t in, int64_t out, int64_t b0, int64_t b1) {
  for (int64_t b = b0; b < b1; ++b) {
    const T* xb = x + b * in;
    T* yb = y + b * out;
    for (int64_t r = 0; r < out; ++r) {
      T acc = bias ? bias[r] : T(0);
      for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) acc += w[e] * xb[col[e]];
      yb[r] = acc;
    }
  }
}

template <class T>
void csr_linear_backward_x(const T* gy, const int64_t* row_ptr, const int64_t* col, const T* w, T* gx, int64_t in,
                           int64_t out, int64_t b0, int64_t b1) {
  for (int64_t b = b0; b < b1; ++b) {
    const T* gyb = gy + b * out;
    T* gxb = gx + b * in;
    for (int64_t c = 0; c < in; ++c) gxb[c] = T(0);
    for (int64_t r = 0; r < out; ++r) {
      const T g = gyb[r];
      for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) gxb[col[e]] += g * w[e];
    }
  }
}

// Batch-outer order: each step reads one row of x (in cache) and streams the entries of
// rows [r0, r1), instead of striding down a column of x per entry.
template <class T>
void csr_linear_backward_w(const T* x, const T* gy, const int64_t* row_ptr, const int64_t* col, T* gw, int64_t B,
                           int64_t in, int64_t out, int64_t r0, int64_t r1) {
  for (int64_t e = row_ptr[r0]; e < row_ptr[r1]; ++e) gw[e] = T(0);
  for (int64_t b = 0; b < B; ++b) {
    const T* xb = x + b * in;
    const T* gyb = gy + b * out;
    for (int64_t r = r0; r < r1; ++r) {
      const T g = gyb[r];
      for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) gw[e] += g * xb[col[e]];
    }
  }
}

#define MOE_INSTANTIATE(T)                                                                                          \
  template void csr_linear_forward<T>(const T*, const int64_t*, const int64_t*, const T*, const T*, T*, int64_t,    \
                                      int64_t, int64_t, int64_t);                                                   \
  template void csr_linear_backward_x<T>(const T*, const int64_t*, const int64_t*, const T*, T*, int64_t, int64_t,  \
                                         int64_t, int64_t);                                                         \
  template void csr_linear_backward_w<T>(const T*, const T*, const int64_t*, const int64_t*, T*, int64_t, int64_t,  \
                                         int64_t, int64_t, int64_t);
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(double)
#undef MOE_INSTANTIATE

}  // namespace moe::kernels::ref
