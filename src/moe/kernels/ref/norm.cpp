// ref/norm.cpp: the readable spec of the norm family: layer norm and RMS norm over
// the last dim of contiguous rows, forward (saving the per-row statistics) and the
// dedicated backward. Templated on float/double; cpu:: runs these loops on row chunks.
#include <cmath>

#include "moe/kernels/kernels.h"

namespace moe::kernels::ref {

template <class T>
void layer_norm_rows(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t rows, int64_t C,
                     T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    // Mean, then the variance around it: the row is in cache for the second loop, and
    // this avoids the cancellation of E[x^2] - E[x]^2.
    T m = 0;
    for (int64_t j = 0; j < C; ++j) m += xr[j];
    m /= T(C);
    T var = 0;
    for (int64_t j = 0; j < C; ++j) var += (xr[j] - m) * (xr[j] - m);
    var /= T(C);
    const T rs = T(1) / std::sqrt(var + eps);
    mean[r] = m, rstd[r] = rs;
    for (int64_t j = 0; j < C; ++j) {
      T v = (xr[j] - m) * rs;
      if (weight) v *= weight[j];
      if (bias) v += bias[j];
      yr[j] = v;
    }
  }
}

// With xhat = (x - mean) * rstd and dxhat = gy * weight (Ba et al. 2016, differentiated):
//   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
template <class T>
void layer_norm_backward_rows(const T* x, const T* weight, const T* mean, const T* rstd, const T* gy, T* gx,
                              T* gweight, T* gbias, int64_t rows, int64_t C) {
  if (gweight)
    for (int64_t j = 0; j < C; ++j) gweight[j] = 0;
  if (gbias)
    for (int64_t j = 0; j < C; ++j) gbias[j] = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    const T* gr = gy + r * C;
    T* gxr = gx + r * C;
    const T m = mean[r], rs = rstd[r];
    T sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (int64_t j = 0; j < C; ++j) {
      const T xhat = (xr[j] - m) * rs;
      const T dxhat = weight ? gr[j] * weight[j] : gr[j];
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * xhat;
      if (gweight) gweight[j] += gr[j] * xhat;
      if (gbias) gbias[j] += gr[j];
    }
    const T mean_dxhat = sum_dxhat / T(C), mean_dxhat_xhat = sum_dxhat_xhat / T(C);
    for (int64_t j = 0; j < C; ++j) {
      const T xhat = (xr[j] - m) * rs;
      const T dxhat = weight ? gr[j] * weight[j] : gr[j];
      gxr[j] = rs * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
    }
  }
}

template <class T> void rms_norm_rows(const T* x, const T* weight, T* y, T* rstd, int64_t rows, int64_t C, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    T ms = 0;
    for (int64_t j = 0; j < C; ++j) ms += xr[j] * xr[j];
    const T rs = T(1) / std::sqrt(ms / T(C) + eps);
    rstd[r] = rs;
    for (int64_t j = 0; j < C; ++j) yr[j] = weight ? xr[j] * rs * weight[j] : xr[j] * rs;
  }
}

// With xhat = x * rstd and dxhat = gy * weight (Zhang & Sennrich 2019, eq. 4, differentiated):
//   dx = rstd * (dxhat - xhat * mean(dxhat * xhat)).
template <class T>
void rms_norm_backward_rows(const T* x, const T* weight, const T* rstd, const T* gy, T* gx, T* gweight, int64_t rows,
                            int64_t C) {
  if (gweight)
    for (int64_t j = 0; j < C; ++j) gweight[j] = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    const T* gr = gy + r * C;
    T* gxr = gx + r * C;
    const T rs = rstd[r];
    T sum_dxhat_xhat = 0;
    for (int64_t j = 0; j < C; ++j) {
      const T xhat = xr[j] * rs;
      const T dxhat = weight ? gr[j] * weight[j] : gr[j];
      sum_dxhat_xhat += dxhat * xhat;
      if (gweight) gweight[j] += gr[j] * xhat;
    }
    const T mean_dxhat_xhat = sum_dxhat_xhat / T(C);
    for (int64_t j = 0; j < C; ++j) {
      const T dxhat = weight ? gr[j] * weight[j] : gr[j];
      gxr[j] = rs * (dxhat - xr[j] * rs * mean_dxhat_xhat);
    }
  }
}

#define MOE_INSTANTIATE(T)                                                                                    \
  template void layer_norm_rows<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, T);            \
  template void layer_norm_backward_rows<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,      \
                                            int64_t, int64_t);                                                \
  template void rms_norm_rows<T>(const T*, const T*, T*, T*, int64_t, int64_t, T);                            \
  template void rms_norm_backward_rows<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t);
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(double)
#undef MOE_INSTANTIATE

}  // namespace moe::kernels::ref
