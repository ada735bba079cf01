// ref/optim.cpp: the readable spec of the optimizer kernels (SGD, Adam/AdamW updates,
// gradient norm, scaling, finiteness), templated on float/double. cpu:: runs these same
// loops on chunks in parallel.
#include <cmath>

#include "moe/kernels/kernels.h"

namespace moe::kernels::ref {

// torch.optim.SGD with dampening 0. A zero-initialised buffer makes the first step
// buf = g, exactly torch's `buf = g.clone()`, so no first-step special case is needed.
template <class T>
void sgd_update(T* p, const T* g, T* momentum_buf, int64_t n, const SgdHyper& h) {
  const T lr = static_cast<T>(h.lr), mu = static_cast<T>(h.momentum), wd = static_cast<T>(h.weight_decay);
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i];
    if (wd != T(0)) d += wd * p[i];
    if (mu != T(0)) {
      T& buf = momentum_buf[i];
      buf = mu * buf + d;
      d = h.nesterov ? d + mu * buf : buf;
    }
    p[i] -= lr * d;
  }
}

// Adam (Kingma & Ba 2015, Alg. 1) and AdamW (Loshchilov & Hutter 2019, Alg. 2), in
// torch.optim's order of operations:
//   AdamW: p *= 1 - lr wd;  Adam: g += wd p
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamHyper& h) {
  const double bias_correction1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bias_correction2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  const T step_size = static_cast<T>(h.lr / bias_correction1);
  const T bc2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
  const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2), eps = static_cast<T>(h.eps);
  const T one_minus_b1 = static_cast<T>(1.0 - h.beta1), one_minus_b2 = static_cast<T>(1.0 - h.beta2);
  const T wd = static_cast<T>(h.weight_decay), decay_factor = static_cast<T>(1.0 - h.lr * h.weight_decay);
  const bool decoupled = h.decoupled_weight_decay && h.weight_decay != 0.0;
  const bool l2 = !h.decoupled_weight_decay && h.weight_decay != 0.0;
  for (int64_t i = 0; i < n; ++i) {
    T gi = g[i];
    if (decoupled) p[i] *= decay_factor;
    if (l2) gi += wd * p[i];
    m[i] = b1 * m[i] + one_minus_b1 * gi;
    v[i] = b2 * v[i] + one_minus_b2 * gi * gi;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
  }
}

template <class T>
void adam_update_rows(T* p, const T* g, T* m, T* v, int64_t row_len, const int64_t* rows, int64_t nrows,
                      const AdamHyper& h) {
  for (int64_t r = 0; r < nrows; ++r) {
    const int64_t o = rows[r] * row_len;
    adam_update(p + o, g + o, m + o, v + o, row_len, h);
  }
}

template <class T>
double sum_squares(const T* x, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return acc;
}

template <class T>
void scale_inplace(T* x, int64_t n, T s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

template <class T>
bool all_finite(const T* x, int64_t n) {
  bool ok = true;  // no early exit: the loop vectorises, and the common case is all finite
  for (int64_t i = 0; i < n; ++i) ok &= std::isfinite(x[i]);
  return ok;
}

#define MOE_INSTANTIATE(T)                                                       \
  template void sgd_update<T>(T*, const T*, T*, int64_t, const SgdHyper&);       \
  template void adam_update<T>(T*, const T*, T*, T*, int64_t, const AdamHyper&); \
  template void adam_update_rows<T>(T*, const T*, T*, T*, int64_t, const int64_t*, int64_t, const AdamHyper&); \
  template double sum_squares<T>(const T*, int64_t);                             \
  template void scale_inplace<T>(T*, int64_t, T);                                \
  template bool all_finite<T>(const T*, int64_t);
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(double)
#undef MOE_INSTANTIATE

}  // namespace moe::kernels::ref
