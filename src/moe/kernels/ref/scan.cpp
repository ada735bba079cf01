// ref/scan.cpp: the readable spec of the scan family: the cumulative product along
// contiguous rows (inclusive or exclusive) and its backward, which never divides by x,
// so rows holding zeros (a DNC usage of exactly 0 or 1) get exact gradients.
#include "moe/kernels/kernels.h"

namespace moe::kernels::ref {

template <class T> void cumprod_rows(const T* x, T* y, int64_t rows, int64_t n, bool exclusive) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T running = 1;
    for (int64_t j = 0; j < n; ++j) {
      if (exclusive) {
        yr[j] = running;
        running *= xr[j];
      } else {
        running *= xr[j];
        yr[j] = running;
      }
    }
  }
}

template <class T>
void cumprod_backward_rows(const T* x, const T* gy, T* gx, int64_t rows, int64_t n, bool exclusive) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    const T* gr = gy + r * n;
    T* gxr = gx + r * n;
    // Suffix pass: S[k] = gy[k] + x[k+1] S[k+1] (inclusive) or gy[k+1] + x[k+1] S[k+1]
    // (exclusive), kept in gx; then the prefix pass multiplies by E[k] = prod_{i<k} x[i].
    T suffix = 0;
    for (int64_t k = n - 1; k >= 0; --k) {
      if (exclusive) {
        gxr[k] = suffix;
        suffix = gr[k] + xr[k] * suffix;
      } else {
        suffix = gr[k] + (k + 1 < n ? xr[k + 1] * suffix : T(0));
        gxr[k] = suffix;
      }
    }
    T prefix = 1;
    for (int64_t k = 0; k < n; ++k) {
      gxr[k] *= prefix;
      prefix *= xr[k];
    }
  }
}

#define MOE_INSTANTIATE(T)                                                   \
  template void cumprod_rows<T>(const T*, T*, int64_t, int64_t, bool);       \
  template void cumprod_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t, bool);
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(double)
#undef MOE_INSTANTIATE

}  // namespace moe::kernels::ref
