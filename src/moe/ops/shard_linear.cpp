// ops/shard_linear.cpp: NeuroShard's layer as one op (formula in shard_linear.h).
// Names: SR = S * R; vx = x V^T (B, SR) with V the (SR, D) view of v; mixed = vx scaled
// per shard by alpha; u_cat (D, SR) = [U_1 .. U_S]; y = x W^T + mixed u_cat^T.
// Backward with gy (B, D):
//   dW = gy^T x,  d_mixed = gy u_cat,  du_cat = gy^T mixed (scattered back to (S, D, R)),
//   d_vx = d_mixed * alpha,  d_alpha[b, s] = sum_r d_mixed[b, s, r] vx[b, s, r],
//   dV = d_vx^T x,  dx = gy W + d_vx V.
#include "moe/ops/shard_linear.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"

namespace moe {

namespace {

// mixed[b, s R + r] = vx[b, s R + r] * alpha[b, s]
template <class T>
void scale_by_shard(const T* vx, const T* alpha, T* mixed, int64_t B, int64_t S, int64_t R) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t r = 0; r < R; ++r) mixed[(b * S + s) * R + r] = vx[(b * S + s) * R + r] * alpha[b * S + s];
}

// to[d, s R + r] = from[s, d, r] (to_cat) or back (!to_cat)
template <class T>
void shard_layout(const T* from, T* to, int64_t S, int64_t D, int64_t R, bool to_cat) {
  for (int64_t s = 0; s < S; ++s)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t r = 0; r < R; ++r) {
        const int64_t stacked = (s * D + d) * R + r, cat = d * S * R + s * R + r;
        to[to_cat ? cat : stacked] = from[to_cat ? stacked : cat];
      }
}

// d_vx = d_mixed * alpha (per shard); d_alpha[b, s] = sum_r d_mixed[b, s, r] vx[b, s, r]
template <class T>
void shard_grads(const T* d_mixed, const T* vx, const T* alpha, T* d_vx, T* d_alpha, int64_t B, int64_t S,
                 int64_t R) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      T acc = T(0);
      for (int64_t r = 0; r < R; ++r) {
        const int64_t i = (b * S + s) * R + r;
        d_vx[i] = d_mixed[i] * alpha[b * S + s];
        acc += d_mixed[i] * vx[i];
      }
      d_alpha[b * S + s] = acc;
    }
}

// Runs f(T{}) with T the tensors' element type (float32 or float64, checked before).
template <class F>
void by_dtype(DType dt, F&& f) {
  if (dt == DType::f64) f(double{});
  else f(float{});
}

}  // namespace

Tensor shard_linear(const Tensor& x_in, const Tensor& alpha_in, const Tensor& w_in, const Tensor& u_in,
                    const Tensor& v_in) {
  const char* op = "shard_linear";
  check_float(x_in, op);
  for (const Tensor* t : {&alpha_in, &w_in, &u_in, &v_in}) check_same_kind(x_in, *t, op);
  MOE_CHECK(x_in.device() == Device::CPU, "shard_linear: CPU tensors only, got {} on {}", x_in.str(),
            device_name(x_in.device()));
  MOE_CHECK(x_in.dim() == 2 && u_in.dim() == 3 && u_in.size(1) == x_in.size(1),
            "shard_linear: expected x (B, D) and u (S, D, R), got x {} and u {}", x_in.str(), u_in.str());
  const int64_t B = x_in.size(0), D = x_in.size(1), S = u_in.size(0), R = u_in.size(2), SR = S * R;
  MOE_CHECK(v_in.shape() == (Shape{S, R, D}) && w_in.shape() == (Shape{D, D}) && alpha_in.shape() == (Shape{B, S}),
            "shard_linear: expected v (S, R, D) = ({}, {}, {}), w ({}, {}) and alpha (B, S) = ({}, {}), got v {}, w {}, "
            "alpha {}",
            S, R, D, D, D, B, S, v_in.str(), w_in.str(), alpha_in.str());
  const DType dt = x_in.dtype();
  Tensor x = x_in.detach().contiguous(), alpha = alpha_in.detach().contiguous();
  Tensor w = w_in.detach().contiguous(), u = u_in.detach().contiguous(), v = v_in.detach().contiguous();
  Tensor vx = Tensor::empty({B, SR}, dt), mixed = Tensor::empty({B, SR}, dt), u_cat = Tensor::empty({D, SR}, dt);
  Tensor y = Tensor::empty({B, D}, dt);
  gemm_at(op, false, true, B, SR, D, x, 0, D, v, 0, D, 0.0, vx, 0, SR);  // x V^T
  by_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    scale_by_shard(vx.data<T>(), alpha.data<T>(), mixed.data<T>(), B, S, R);
    shard_layout(u.data<T>(), u_cat.data<T>(), S, D, R, true);
  });
  gemm_at(op, false, true, B, D, D, x, 0, D, w, 0, D, 0.0, y, 0, D);             // x W^T
  gemm_at(op, false, true, B, D, SR, mixed, 0, SR, u_cat, 0, SR, 1.0, y, 0, D);  // + mixed u_cat^T
  if (!needs_grad({&x_in, &alpha_in, &w_in, &u_in, &v_in})) return y;
  const bool need_x = x_in.requires_grad(), need_alpha = alpha_in.requires_grad(), need_w = w_in.requires_grad(),
             need_u = u_in.requires_grad(), need_v = v_in.requires_grad();
  record(y, op, {x_in, alpha_in, w_in, u_in, v_in},
         [=](const Tensor& gy) {
           const Tensor g = gy.contiguous();
           Tensor dx, dalpha, dw, du, dv;
           if (need_w) {
             dw = Tensor::empty({D, D}, dt);
             gemm_at(op, true, false, D, D, B, g, 0, D, x, 0, D, 0.0, dw, 0, D);
           }
           if (need_u) {
             Tensor du_cat = Tensor::empty({D, SR}, dt);
             gemm_at(op, true, false, D, SR, B, g, 0, D, mixed, 0, SR, 0.0, du_cat, 0, SR);
             du = Tensor::empty({S, D, R}, dt);
             by_dtype(dt, [&](auto tag) {
               using T = decltype(tag);
               shard_layout(du_cat.data<T>(), du.data<T>(), S, D, R, false);
             });
           }
           if (need_x || need_alpha || need_v) {
             Tensor d_mixed = Tensor::empty({B, SR}, dt), d_vx = Tensor::empty({B, SR}, dt);
             Tensor d_alpha = Tensor::empty({B, S}, dt);
             gemm_at(op, false, false, B, SR, D, g, 0, D, u_cat, 0, SR, 0.0, d_mixed, 0, SR);
             by_dtype(dt, [&](auto tag) {
               using T = decltype(tag);
               shard_grads(d_mixed.data<T>(), vx.data<T>(), alpha.data<T>(), d_vx.data<T>(), d_alpha.data<T>(), B, S, R);
             });
             if (need_alpha) dalpha = d_alpha;
             if (need_v) {
               dv = Tensor::empty({S, R, D}, dt);
               gemm_at(op, true, false, SR, D, B, d_vx, 0, SR, x, 0, D, 0.0, dv, 0, D);
             }
             if (need_x) {
               dx = Tensor::empty({B, D}, dt);
               gemm_at(op, false, false, B, D, D, g, 0, D, w, 0, D, 0.0, dx, 0, D);
               gemm_at(op, false, false, B, D, SR, d_vx, 0, SR, v, 0, D, 1.0, dx, 0, D);
             }
           }
           return std::vector<Tensor>{dx, dalpha, dw, du, dv};
         });
  return y;
}

}  // namespace moe
