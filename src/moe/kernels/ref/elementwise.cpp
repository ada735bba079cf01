// ref/elementwise.cpp: the readable spec of the elementwise and reduction kernels,
// templated on float/double. cpu:: runs these same loops on chunks in parallel.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>
#include <limits>

#include "moe/kernels/binary_op.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels {

int64_t Strided::rows() const {
  int64_t r = 1;
  for (int i = 0; i + 1 < ndim; ++i) r *= shape[i];
  return r;
}

namespace ref {

namespace {

template <class T> T sigmoid(T x) {
  // Stable for large |x|: never exponentiates a large positive number.
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}
template <class T> T gelu(T x) { return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2))); }
template <class T> T gelu_grad(T x) {
  T cdf = T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
  T pdf = std::exp(T(-0.5) * x * x) * T(0.3989422804014327);  // 1/sqrt(2 pi)
  return cdf + x * pdf;
}
template <class T> T softplus(T x) { return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))); }

template <class T> T apply_unary(Unary op, T x, T p) {
  switch (op) {
    case Unary::neg: return -x;
    case Unary::exp: return std::exp(x);
    case Unary::log: return std::log(x);
    case Unary::sqrt: return std::sqrt(x);
    case Unary::tanh: return std::tanh(x);
    case Unary::sigmoid: return sigmoid(x);
    case Unary::relu: return x > T(0) ? x : T(0);
    case Unary::gelu: return gelu(x);
    case Unary::silu: return x * sigmoid(x);
    case Unary::softplus: return softplus(x);
    case Unary::abs: return std::abs(x);
    case Unary::square: return x * x;
    case Unary::pow: return std::pow(x, p);
    case Unary::sign: return T((x > T(0)) - (x < T(0)));
    case Unary::step: return x > T(0) ? T(1) : T(0);
    case Unary::normal_cdf: return T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
  }
  return x;
}

// d op(x) / dx, with y = op(x) available.
template <class T> T unary_derivative(Unary op, T x, T y, T p) {
  switch (op) {
    case Unary::neg: return T(-1);
    case Unary::exp: return y;
    case Unary::log: return T(1) / x;
    case Unary::sqrt: return T(0.5) / y;
    case Unary::tanh: return T(1) - y * y;
    case Unary::sigmoid: return y * (T(1) - y);
    case Unary::relu: return x > T(0) ? T(1) : T(0);
    case Unary::gelu: return gelu_grad(x);
    case Unary::silu: {
      T s = sigmoid(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case Unary::softplus: return sigmoid(x);
    case Unary::abs: return T((x > T(0)) - (x < T(0)));
    case Unary::square: return T(2) * x;
    case Unary::pow: return p * std::pow(x, p - T(1));
    case Unary::sign:
    case Unary::step: return T(0);
    case Unary::normal_cdf: return std::exp(T(-0.5) * x * x) * T(0.3989422804014327);
  }
  return T(0);
}

// Offsets of the first element of `row` in a and b (row = index over all dims but the last).
inline void row_offsets(const Strided& g, int64_t row, int64_t& off_a, int64_t& off_b) {
  off_a = off_b = 0;
  for (int d = g.ndim - 2; d >= 0; --d) {
    int64_t i = row % g.shape[d];
    row /= g.shape[d];
    off_a += i * g.stride_a[d];
    off_b += i * g.stride_b[d];
  }
}

// Rows r0, r0 + 1, ... with their offsets in a and b: the multi-index is kept and each
// next row is a carry, where row_offsets divides once per dim per row (the divisions
// were most of the cost of a small permuted copy: 256 rows of 4 floats).
class RowCursor {
 public:
  RowCursor(const Strided& g, int64_t row) : g_(g) {
    row_offsets(g, row, off_a, off_b);
    for (int d = g.ndim - 2; d >= 0; --d) {
      idx_[d] = row % g.shape[d];
      row /= g.shape[d];
    }
  }
  void next() {
    for (int d = g_.ndim - 2; d >= 0; --d) {
      off_a += g_.stride_a[d];
      off_b += g_.stride_b[d];
      if (++idx_[d] < g_.shape[d]) return;
      off_a -= g_.shape[d] * g_.stride_a[d];
      off_b -= g_.shape[d] * g_.stride_b[d];
      idx_[d] = 0;
    }
  }
  int64_t off_a = 0, off_b = 0;

 private:
  const Strided& g_;
  int64_t idx_[kMaxDims] = {};
};

// The inner loop specialised per op so the compiler vectorises it.
template <class T, class F>
void binary_rows(F f, const T* a, const T* b, T* out, const Strided& g, int64_t r0, int64_t r1) {
  const int64_t len = g.row_len();
  const int64_t sa = g.ndim ? g.stride_a[g.ndim - 1] : 0, sb = g.ndim ? g.stride_b[g.ndim - 1] : 0;
  RowCursor cur(g, r0);
  for (int64_t r = r0; r < r1; ++r, cur.next()) {
    const T* pa = a + cur.off_a;
    const T* pb = b + cur.off_b;
    T* po = out + r * len;
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], pb[i]);
    } else if (sa == 1 && sb == 0) {
      const T vb = *pb;
      for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], vb);
    } else if (sa == 0 && sb == 1) {
      const T va = *pa;
      for (int64_t i = 0; i < len; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i * sa], pb[i * sb]);
    }
  }
}

}  // namespace

template <class T> void unary(Unary op, const T* x, T* y, int64_t n, T p) {
  switch (op) {  // the common activations get their own vectorisable loops
    case Unary::relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
      return;
    case Unary::neg:
      for (int64_t i = 0; i < n; ++i) y[i] = -x[i];
      return;
    case Unary::square:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i];
      return;
    default:
      for (int64_t i = 0; i < n; ++i) y[i] = apply_unary(op, x[i], p);
  }
}

template <class T>
void unary_backward(Unary op, const T* x, const T* y, const T* gy, T* gx, int64_t n, T p) {
  if (op == Unary::relu) {
    for (int64_t i = 0; i < n; ++i) gx[i] = x[i] > T(0) ? gy[i] : T(0);
    return;
  }
  for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * unary_derivative(op, x[i], y ? y[i] : T(0), p);
}

template <class T>
void binary(Binary op, const T* a, const T* b, T* out, const Strided& g, int64_t r0, int64_t r1) {
  switch (op) {
    case Binary::add: return binary_rows([](T u, T v) { return u + v; }, a, b, out, g, r0, r1);
    case Binary::sub: return binary_rows([](T u, T v) { return u - v; }, a, b, out, g, r0, r1);
    case Binary::mul: return binary_rows([](T u, T v) { return u * v; }, a, b, out, g, r0, r1);
    case Binary::div: return binary_rows([](T u, T v) { return u / v; }, a, b, out, g, r0, r1);
    default:
      return binary_rows([op](T u, T v) { return apply_binary(op, u, v); }, a, b, out, g, r0, r1);
  }
}

template <class T>
void copy_strided(const T* src, T* dst, const Strided& g, int64_t r0, int64_t r1) {
  const int64_t len = g.row_len();
  const int64_t ss = g.ndim ? g.stride_a[g.ndim - 1] : 0, ds = g.ndim ? g.stride_b[g.ndim - 1] : 0;
  RowCursor cur(g, r0);
  for (int64_t r = r0; r < r1; ++r, cur.next()) {
    const T* p = src + cur.off_a;
    T* d = dst + cur.off_b;
    if (ss == 1 && ds == 1) {
      for (int64_t i = 0; i < len; ++i) d[i] = p[i];
    } else if (ss == 0 && ds == 1) {  // a broadcast value (fill_, zeros): 15% of a NeuroShard step as the strided loop
      std::fill_n(d, len, *p);
    } else {
      for (int64_t i = 0; i < len; ++i) d[i * ds] = p[i * ss];
    }
  }
}

// float sums accumulate in double: a 4096-row bias gradient in float32 would
// otherwise lose ~1e-4 relative to plain sequential rounding.
template <class T> using SumAcc = std::conditional_t<std::is_same_v<T, float>, double, T>;

template <class T> void reduce_sum(const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  std::vector<SumAcc<T>> acc(inner);
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), SumAcc<T>(0));
    for (int64_t i = 0; i < n; ++i) {
      const T* px = x + (o * n + i) * inner;
      for (int64_t j = 0; j < inner; ++j) acc[j] += px[j];
    }
    for (int64_t j = 0; j < inner; ++j) out[o * inner + j] = static_cast<T>(acc[j]);
  }
}

template <class T>
void reduce_max(const T* x, T* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const T* px = x + o * n * inner + j;
      T best = px[0];
      int64_t arg = 0;
      for (int64_t i = 1; i < n; ++i) {
        T v = px[i * inner];
        if (v > best || (std::isnan(v) && !std::isnan(best))) best = v, arg = i;  // NaN wins
      }
      out[o * inner + j] = best;
      if (argmax) argmax[o * inner + j] = arg;
    }
}

#define MOE_INSTANTIATE_INT(T)                                                                 \
  template void binary<T>(Binary, const T*, const T*, T*, const Strided&, int64_t, int64_t);   \
  template void copy_strided<T>(const T*, T*, const Strided&, int64_t, int64_t);               \
  template void reduce_sum<T>(const T*, T*, int64_t, int64_t, int64_t);                        \
  template void reduce_max<T>(const T*, T*, int64_t*, int64_t, int64_t, int64_t);
#define MOE_INSTANTIATE(T)                                                                     \
  template void unary<T>(Unary, const T*, T*, int64_t, T);                                     \
  template void unary_backward<T>(Unary, const T*, const T*, const T*, T*, int64_t, T);        \
  MOE_INSTANTIATE_INT(T)
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(double)
MOE_INSTANTIATE_INT(int32_t)
MOE_INSTANTIATE_INT(int64_t)
#undef MOE_INSTANTIATE
#undef MOE_INSTANTIATE_INT

}  // namespace ref
}  // namespace moe::kernels
