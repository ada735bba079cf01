// ref/attention.cpp: scaled dot-product attention (Vaswani et al. 2017, eq. 1),
// softmax(q k^T * scale) v per (batch, head) slice, and its backward. The readable
// spec and the float64 backend; cpu:: runs these same loops on slices in parallel.
//
// Every O(T^2 D) loop is written as a unit-stride axpy (K and V are transposed into a
// scratch (D, T) copy so score rows accumulate over d), never as a float dot product:
// without -ffast-math a compiler may not reorder a sum, so a dot product would not
// vectorise, while an axpy does. The per-element summation order stays fixed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "moe/kernels/kernels.h"

namespace moe::kernels::ref {

namespace {

// src: (Tn, D) -> dst: (D, Tn)
template <class T> void transpose_into(const T* src, T* dst, int64_t Tn, int64_t D) {
  for (int64_t t = 0; t < Tn; ++t)
    for (int64_t d = 0; d < D; ++d) dst[d * Tn + t] = src[t * D + d];
}

// row[0, n) = sum_d x[d] * mt[d, 0, n), mt: (D, Tn)
template <class T> void row_times_transposed(const T* x, const T* mt, T* row, int64_t n, int64_t Tn, int64_t D) {
  std::fill(row, row + n, T(0));
  for (int64_t d = 0; d < D; ++d) {
    const T xd = x[d];
    const T* m = mt + d * Tn;
    for (int64_t s = 0; s < n; ++s) row[s] += xd * m[s];
  }
}

// e^x for float x <= 0 (a softmax's max-shifted scores), branch-free so that a loop of
// it vectorises: std::exp does not without -fno-math-errno, and it was half of the
// attention forward. Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2, a degree-7
// polynomial for e^r, 2^n through the exponent bits. Relative error under 2e-7 on
// [-87, 0]; x below -87 gives e^-87 (1.6e-38), nothing next to the row max's e^0 = 1.
inline float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const int32_t n = static_cast<int32_t>(x * 1.44269504088896341f - 0.5f);  // round(x log2 e), x <= 0
  const float nf = static_cast<float>(n);
  const float r = (x - nf * 0.693359375f) - nf * -2.12194440e-4f;  // ln2 in two parts: exact n ln2_hi
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const int32_t bits = (n + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return y * two_n;
}

// p[s] = exp(p[s] * scale - row_max) for s < n; returns their sum.
inline float exp_shifted_row(float* p, int64_t n, float scale, float row_max) {
  for (int64_t s = 0; s < n; ++s) p[s] = exp_nonpositive(p[s] * scale - row_max);
  float total = 0.0f;
  for (int64_t s = 0; s < n; ++s) total += p[s];
  return total;
}
inline double exp_shifted_row(double* p, int64_t n, double scale, double row_max) {
  double total = 0.0;
  for (int64_t s = 0; s < n; ++s) {
    p[s] = std::exp(p[s] * scale - row_max);
    total += p[s];
  }
  return total;
}

}  // namespace

template <class T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* probs, int64_t Tn, int64_t D,
                       bool causal, T scale, int64_t bh_begin, int64_t bh_end) {
  std::vector<T> kt(D * Tn), row_scratch(probs ? 0 : Tn);
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const T* qs = q + bh * Tn * D;
    const T* vs = v + bh * Tn * D;
    transpose_into(k + bh * Tn * D, kt.data(), Tn, D);
    for (int64_t t = 0; t < Tn; ++t) {
      const int64_t n = causal ? t + 1 : Tn;  // keys this row may see
      T* p = probs ? probs + (bh * Tn + t) * Tn : row_scratch.data();
      row_times_transposed(qs + t * D, kt.data(), p, n, Tn, D);
      // Softmax with the row max subtracted, so exp never overflows.
      T row_max = -INFINITY;
      for (int64_t s = 0; s < n; ++s) row_max = std::max(row_max, p[s] * scale);
      const T total = exp_shifted_row(p, n, scale, row_max);
      const T inv_total = T(1) / total;
      for (int64_t s = 0; s < n; ++s) p[s] *= inv_total;
      std::fill(p + n, p + Tn, T(0));
      T* o = out + (bh * Tn + t) * D;
      std::fill(o, o + D, T(0));
      for (int64_t s = 0; s < n; ++s) {
        const T w = p[s];
        const T* vrow = vs + s * D;
        for (int64_t d = 0; d < D; ++d) o[d] += w * vrow[d];
      }
    }
  }
}

// With S = scale q k^T, P = softmax(S), out = P v:
//   dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P))  (softmax Jacobian),
//   dQ = scale dS K,  dK = scale dS^T Q.
template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* probs, const T* gout, T* gq, T* gk,
                        T* gv, int64_t Tn, int64_t D, bool causal, T scale, int64_t bh_begin, int64_t bh_end) {
  std::vector<T> vt(D * Tn), ds(Tn);
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const int64_t base = bh * Tn * D;
    const T *qs = q + base, *ks = k + base, *gos = gout + base;
    T *gqs = gq + base, *gks = gk + base, *gvs = gv + base;
    transpose_into(v + base, vt.data(), Tn, D);
    std::fill(gks, gks + Tn * D, T(0));
    std::fill(gvs, gvs + Tn * D, T(0));
    for (int64_t t = 0; t < Tn; ++t) {
      const int64_t n = causal ? t + 1 : Tn;
      const T* p = probs + (bh * Tn + t) * Tn;
      const T* go = gos + t * D;
      for (int64_t s = 0; s < n; ++s) {  // dV[s] += P[t, s] dO[t]
        const T w = p[s];
        T* g = gvs + s * D;
        for (int64_t d = 0; d < D; ++d) g[d] += w * go[d];
      }
      row_times_transposed(go, vt.data(), ds.data(), n, Tn, D);  // dP[t, :]
      T dot = T(0);
      for (int64_t s = 0; s < n; ++s) dot += ds[s] * p[s];
      for (int64_t s = 0; s < n; ++s) ds[s] = scale * p[s] * (ds[s] - dot);  // scale * dS[t, :]
      T* gqrow = gqs + t * D;
      const T* qrow = qs + t * D;
      std::fill(gqrow, gqrow + D, T(0));
      for (int64_t s = 0; s < n; ++s) {
        const T w = ds[s];
        const T* krow = ks + s * D;
        T* gkrow = gks + s * D;
        for (int64_t d = 0; d < D; ++d) gqrow[d] += w * krow[d];
        for (int64_t d = 0; d < D; ++d) gkrow[d] += w * qrow[d];
      }
    }
  }
}

#define MOE_INSTANTIATE_ATTENTION(T)                                                                   \
  template void attention_forward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t, bool, T,   \
                                     int64_t, int64_t);                                                 \
  template void attention_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,    \
                                      int64_t, int64_t, bool, T, int64_t, int64_t);
MOE_INSTANTIATE_ATTENTION(float)
MOE_INSTANTIATE_ATTENTION(double)
#undef MOE_INSTANTIATE_ATTENTION

}  // namespace moe::kernels::ref
