// ref/softmax.cpp: the readable spec of the softmax family: softmax and log_softmax
// over contiguous rows with their dedicated backward, and the fused softmax
// cross-entropy. Templated on float/double; cpu:: runs these loops on row chunks.
#include <cmath>

#include "moe/kernels/kernels.h"

namespace moe::kernels::ref {

namespace {

template <class T> T row_max(const T* x, int64_t n) {
  T m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// log(sum(exp(x - max))): the logsumexp of x less its max (so no exp overflows).
template <class T> T row_log_sum_exp_shifted(const T* x, int64_t n, T max) {
  T s = 0;
  for (int64_t j = 0; j < n; ++j) s += std::exp(x[j] - max);
  return std::log(s);
}

}  // namespace

template <class T> void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    const T m = row_max(xr, n);
    T s = 0;
    for (int64_t j = 0; j < n; ++j) {
      yr[j] = std::exp(xr[j] - m);
      s += yr[j];
    }
    const T inv = T(1) / s;
    for (int64_t j = 0; j < n; ++j) yr[j] *= inv;
  }
}

template <class T> void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    // (x - max) - log(sum) rather than x - logsumexp: x - max is exact for nearby
    // values, so large logits keep their precision in float32.
    const T m = row_max(xr, n);
    const T log_s = row_log_sum_exp_shifted(xr, n, m);
    for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) - log_s;
  }
}

template <class T> void softmax_backward_rows(const T* y, const T* gy, T* gx, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * n;
    const T* gr = gy + r * n;
    T* gxr = gx + r * n;
    T dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += gr[j] * yr[j];
    for (int64_t j = 0; j < n; ++j) gxr[j] = yr[j] * (gr[j] - dot);
  }
}

template <class T> void log_softmax_backward_rows(const T* y, const T* gy, T* gx, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * n;
    const T* gr = gy + r * n;
    T* gxr = gx + r * n;
    T total = 0;
    for (int64_t j = 0; j < n; ++j) total += gr[j];
    for (int64_t j = 0; j < n; ++j) gxr[j] = gr[j] - std::exp(yr[j]) * total;
  }
}

template <class T>
void cross_entropy_rows(const T* logits, const int64_t* target, T* loss, T* lse, int64_t rows, int64_t classes,
                        int64_t ignore_index) {
  for (int64_t r = 0; r < rows; ++r) {
    if (target[r] == ignore_index) {
      loss[r] = 0, lse[r] = 0;
      continue;
    }
    const T* xr = logits + r * classes;
    const T m = row_max(xr, classes), log_s = row_log_sum_exp_shifted(xr, classes, m);
    lse[r] = m + log_s;
    loss[r] = (m - xr[target[r]]) + log_s;  // as in log_softmax_rows: precise for large logits
  }
}

template <class T>
void cross_entropy_backward_rows(const T* logits, const int64_t* target, const T* lse, T scale, T* glogits,
                                 int64_t rows, int64_t classes, int64_t ignore_index) {
  for (int64_t r = 0; r < rows; ++r) {
    T* gr = glogits + r * classes;
    if (target[r] == ignore_index) {
      for (int64_t j = 0; j < classes; ++j) gr[j] = 0;
      continue;
    }
    const T* xr = logits + r * classes;
    for (int64_t j = 0; j < classes; ++j) gr[j] = std::exp(xr[j] - lse[r]) * scale;
    gr[target[r]] -= scale;
  }
}

#define MOE_INSTANTIATE(T)                                                                        \
  template void softmax_rows<T>(const T*, T*, int64_t, int64_t);                                  \
  template void log_softmax_rows<T>(const T*, T*, int64_t, int64_t);                              \
  template void softmax_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t);               \
  template void log_softmax_backward_rows<T>(const T*, const T*, T*, int64_t, int64_t);           \
  template void cross_entropy_rows<T>(const T*, const int64_t*, T*, T*, int64_t, int64_t, int64_t); \
  template void cross_entropy_backward_rows<T>(const T*, const int64_t*, const T*, T, T*, int64_t, int64_t, \
                                               int64_t);
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(double)
#undef MOE_INSTANTIATE

}  // namespace moe::kernels::ref
