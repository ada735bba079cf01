// ref/dispatch.cpp: the MoE row gather and the ordered weighted combine.
#include "moe/kernels/kernels.h"

namespace moe::kernels::ref {

template <class T>
void gather_rows(const T* x, const int64_t* rows, int64_t D, T* out, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const T* src = x + rows[p] * D;
    T* dst = out + p * D;
    for (int64_t j = 0; j < D; ++j) dst[j] = src[j];
  }
}

template <class T>
void combine_rows(const T* ys, const T* w, const int64_t* off, const int64_t* pos, int64_t D, T* out, int64_t t0,
                  int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    T* o = out + t * D;
    for (int64_t j = 0; j < D; ++j) o[j] = T(0);
    for (int64_t i = off[t]; i < off[t + 1]; ++i) {
      const int64_t p = pos[i];
      const T wp = w ? w[p] : T(1);
      const T* y = ys + p * D;
      for (int64_t j = 0; j < D; ++j) o[j] += wp * y[j];
    }
  }
}

template <class T>
void combine_backward(const T* g, const T* ys, const T* w, const int64_t* token, int64_t D, T* dys, T* dw, int64_t p0,
                      int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const T* gt = g + token[p] * D;
    if (dys) {
      const T wp = w ? w[p] : T(1);
      T* d = dys + p * D;
      for (int64_t j = 0; j < D; ++j) d[j] = wp * gt[j];
    }
    if (dw) {
      const T* y = ys + p * D;
      T acc = T(0);
      for (int64_t j = 0; j < D; ++j) acc += gt[j] * y[j];
      dw[p] = acc;
    }
  }
}

#define MOE_INSTANTIATE(T)                                                                                    \
  template void gather_rows<T>(const T*, const int64_t*, int64_t, T*, int64_t, int64_t);                      \
  template void combine_rows<T>(const T*, const T*, const int64_t*, const int64_t*, int64_t, T*, int64_t,     \
                                int64_t);                                                                     \
  template void combine_backward<T>(const T*, const T*, const T*, const int64_t*, int64_t, T*, T*, int64_t,   \
                                    int64_t);
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(double)
#undef MOE_INSTANTIATE

}  // namespace moe::kernels::ref
