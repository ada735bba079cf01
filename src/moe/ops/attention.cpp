// ops/attention.cpp: the attention op: checks, a contiguous copy of strided inputs
// (MHA passes permuted views of one qkv projection), the kernel dispatch, and the
// backward through attention_backward.
#include "moe/ops/attention.h"

#include <cmath>

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"

namespace moe {

namespace {

// out = softmax(q k^T * scale) v over BH contiguous (T, D) slices; probs (BH, T, T) is
// filled when defined.
void attention_forward_into(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                            const Tensor& probs, bool causal, double scale) {
  const int64_t BH = q.size(0) * q.size(1), Tn = q.size(2), D = q.size(3);
  switch (backend_of(q, "attention")) {
    case Backend::cpu_f32:
      kernels::cpu::attention_forward(q.data<float>(), k.data<float>(), v.data<float>(), out.data<float>(),
                                      probs.defined() ? probs.data<float>() : nullptr, BH, Tn, D, causal,
                                      static_cast<float>(scale));
      break;
    case Backend::ref_f64:
      kernels::ref::attention_forward(q.data<double>(), k.data<double>(), v.data<double>(), out.data<double>(),
                                      probs.defined() ? probs.data<double>() : nullptr, Tn, D, causal, scale,
                                      int64_t{0}, BH);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("attention", kernels::cuda::attention_forward(
                                     q.data<float>(), k.data<float>(), v.data<float>(), out.data<float>(),
                                     probs.defined() ? probs.data<float>() : nullptr, BH, Tn, D, causal,
                                     static_cast<float>(scale)));
      break;
  }
}

// gq, gk, gv (contiguous, q's shape) from the saved q, k, v, probs and the contiguous g.
void attention_backward_into(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& probs, const Tensor& g,
                             const Tensor& gq, const Tensor& gk, const Tensor& gv, bool causal, double scale) {
  const int64_t BH = q.size(0) * q.size(1), Tn = q.size(2), D = q.size(3);
  switch (backend_of(g, "attention backward")) {
    case Backend::cpu_f32:
      kernels::cpu::attention_backward(q.data<float>(), k.data<float>(), v.data<float>(), probs.data<float>(),
                                       g.data<float>(), gq.data<float>(), gk.data<float>(), gv.data<float>(), BH,
                                       Tn, D, causal, static_cast<float>(scale));
      break;
    case Backend::ref_f64:
      kernels::ref::attention_backward(q.data<double>(), k.data<double>(), v.data<double>(), probs.data<double>(),
                                       g.data<double>(), gq.data<double>(), gk.data<double>(), gv.data<double>(), Tn,
                                       D, causal, scale, int64_t{0}, BH);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("attention backward",
                    kernels::cuda::attention_backward(q.data<float>(), k.data<float>(), v.data<float>(),
                                                      probs.data<float>(), g.data<float>(), gq.data<float>(),
                                                      gk.data<float>(), gv.data<float>(), BH, Tn, D, causal,
                                                      static_cast<float>(scale)));
      break;
  }
}

}  // namespace

Tensor attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, bool causal) {
  check_same_kind(q_in, k_in, "attention");
  check_same_kind(q_in, v_in, "attention");
  check_float(q_in, "attention");
  MOE_CHECK(q_in.dim() == 4, "attention: q must be (B, H, T, D), got {}", q_in.str());
  MOE_CHECK(k_in.shape() == q_in.shape() && v_in.shape() == q_in.shape(),
            "attention: q, k, v must have the same (B, H, T, D) shape, got q {}, k {}, v {}", q_in.str(),
            k_in.str(), v_in.str());
  MOE_CHECK(q_in.size(3) > 0, "attention: head dim D must be positive, got q {}", q_in.str());
  const int64_t Tn = q_in.size(2), D = q_in.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  Tensor q = q_in.detach().contiguous(), k = k_in.detach().contiguous(), v = v_in.detach().contiguous();
  Tensor out = Tensor::empty(q.shape(), q.dtype(), q.device());
  const bool backward_needed = needs_grad({&q_in, &k_in, &v_in});
  Tensor probs;  // (B, H, T, T), kept only for the backward
  if (backward_needed) probs = Tensor::empty({q.size(0), q.size(1), Tn, Tn}, q.dtype(), q.device());
  attention_forward_into(q, k, v, out, probs, causal, scale);
  if (!backward_needed) return out;
  record(out, "attention", {q_in, k_in, v_in}, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    Tensor gq = Tensor::empty(q.shape(), q.dtype(), q.device());
    Tensor gk = Tensor::empty(q.shape(), q.dtype(), q.device());
    Tensor gv = Tensor::empty(q.shape(), q.dtype(), q.device());
    attention_backward_into(q, k, v, probs, g, gq, gk, gv, causal, scale);
    return std::vector<Tensor>{gq, gk, gv};
  });
  return out;
}

Tensor attention_packed(const Tensor& qkv_in, bool causal) {
  check_float(qkv_in, "attention_packed");
  MOE_CHECK(qkv_in.dim() == 5 && qkv_in.size(2) == 3 && qkv_in.size(4) > 0,
            "attention_packed: qkv must be (B, T, 3, H, D) with D > 0, got {}", qkv_in.str());
  const int64_t B = qkv_in.size(0), Tn = qkv_in.size(1), H = qkv_in.size(3), D = qkv_in.size(4);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  // (B, T, H, D) slices -> contiguous (B, H, T, D) copies (views of a detached base: no tape).
  const Tensor base = qkv_in.detach();
  auto head_major = [&](int64_t i) { return base.select(2, i).permute({0, 2, 1, 3}).contiguous(); };
  Tensor q = head_major(0), k = head_major(1), v = head_major(2);
  Tensor out = Tensor::empty(q.shape(), q.dtype(), q.device());
  const bool backward_needed = needs_grad({&qkv_in});
  Tensor probs;
  if (backward_needed) probs = Tensor::empty({B, H, Tn, Tn}, q.dtype(), q.device());
  attention_forward_into(q, k, v, out, probs, causal, scale);
  if (!backward_needed) return out;
  record(out, "attention_packed", {qkv_in}, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    Tensor gq = Tensor::empty(q.shape(), q.dtype(), q.device());
    Tensor gk = Tensor::empty(q.shape(), q.dtype(), q.device());
    Tensor gv = Tensor::empty(q.shape(), q.dtype(), q.device());
    attention_backward_into(q, k, v, probs, g, gq, gk, gv, causal, scale);
    Tensor gqkv = Tensor::empty({B, Tn, 3, H, D}, q.dtype(), q.device());
    gqkv.select(2, 0).copy_(gq.permute({0, 2, 1, 3}));
    gqkv.select(2, 1).copy_(gk.permute({0, 2, 1, 3}));
    gqkv.select(2, 2).copy_(gv.permute({0, 2, 1, 3}));
    return std::vector<Tensor>{gqkv};
  });
  return out;
}

}  // namespace moe
