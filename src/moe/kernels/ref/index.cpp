// ref/index.cpp: the readable spec of the index kernels (index_select/index_add,
// gather/scatter_add, topk, where), templated on float/double. Indices arrive in range:
// the ops check them. cpu:: runs these loops on chunks in parallel.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "moe/kernels/kernels.h"

namespace moe::kernels::ref {

template <class T>
void index_select(const T* x, const int64_t* index, T* out, int64_t outer, int64_t n, int64_t K,
                  int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < K; ++k) {
      const T* src = x + (o * n + index[k]) * inner;
      T* dst = out + (o * K + k) * inner;
      for (int64_t j = 0; j < inner; ++j) dst[j] = src[j];
    }
}

template <class T>
void index_add(T* out, const int64_t* index, const T* src, int64_t outer, int64_t n, int64_t K,
               int64_t inner, int64_t c0, int64_t c1) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < K; ++k) {
      T* dst = out + (o * n + index[k]) * inner;
      const T* s = src + (o * K + k) * inner;
      for (int64_t j = c0; j < c1; ++j) dst[j] += s[j];
    }
}

template <class T>
void gather(const T* x, const int64_t* index, T* out, int64_t outer, int64_t n, int64_t K,
            int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t* idx = index + (o * K + k) * inner;
      T* dst = out + (o * K + k) * inner;
      const T* base = x + o * n * inner;
      for (int64_t j = 0; j < inner; ++j) dst[j] = base[idx[j] * inner + j];
    }
}

template <class T>
void scatter_add(T* out, const int64_t* index, const T* src, int64_t outer, int64_t n, int64_t K,
                 int64_t inner, int64_t c0, int64_t c1) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t* idx = index + (o * K + k) * inner;
      const T* s = src + (o * K + k) * inner;
      T* base = out + o * n * inner;
      for (int64_t j = c0; j < c1; ++j) base[idx[j] * inner + j] += s[j];
    }
}

template <class T>
void topk(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k, bool largest) {
  std::vector<int64_t> order(n);
  // NaN ranks above every number (as torch.topk); equal values keep index order, so the
  // comparison is a strict total order and partial_sort's result is unique.
  auto above = [](T u, T v) { return (std::isnan(u) && !std::isnan(v)) || u > v; };
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * n;
    std::iota(order.begin(), order.end(), int64_t{0});
    auto before = [&](int64_t a, int64_t b) {
      const T va = row[a], vb = row[b];
      const bool a_first = largest ? above(va, vb) : above(vb, va);
      const bool b_first = largest ? above(vb, va) : above(va, vb);
      return a_first || (!b_first && a < b);
    };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
    for (int64_t i = 0; i < k; ++i) {
      values[r * k + i] = row[order[i]];
      indices[r * k + i] = order[i];
    }
  }
}

template <class T>
void where_into(const T* mask, const T* a, T* out, const Strided& g, int64_t r0, int64_t r1) {
  const int64_t len = g.row_len();
  const int last = g.ndim - 1;
  const int64_t sm = g.ndim ? g.stride_a[last] : 0, sa = g.ndim ? g.stride_b[last] : 0;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t om = 0, oa = 0;  // offsets of row r's first element in mask and a
    for (int64_t d = g.ndim - 2, rest = r; d >= 0; --d) {
      const int64_t i = rest % g.shape[d];
      rest /= g.shape[d];
      om += i * g.stride_a[d];
      oa += i * g.stride_b[d];
    }
    const T* pm = mask + om;
    const T* pa = a + oa;
    T* po = out + r * len;
    for (int64_t i = 0; i < len; ++i)
      if (pm[i * sm] != T(0)) po[i] = pa[i * sa];
  }
}

#define MOE_INSTANTIATE(T)                                                                          \
  template void index_select<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t, int64_t); \
  template void index_add<T>(T*, const int64_t*, const T*, int64_t, int64_t, int64_t, int64_t,     \
                             int64_t, int64_t);                                                    \
  template void gather<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t, int64_t);       \
  template void scatter_add<T>(T*, const int64_t*, const T*, int64_t, int64_t, int64_t, int64_t,   \
                               int64_t, int64_t);                                                  \
  template void topk<T>(const T*, T*, int64_t*, int64_t, int64_t, int64_t, bool);                  \
  template void where_into<T>(const T*, const T*, T*, const Strided&, int64_t, int64_t);
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(double)
#undef MOE_INSTANTIATE

}  // namespace moe::kernels::ref
