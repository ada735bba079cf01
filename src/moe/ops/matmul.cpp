// ops/matmul.cpp: matmul and linear, forward and backward as GEMMs.
#include "moe/ops/matmul.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/reduce.h"

namespace moe {

namespace {

// A 2-D operand as gemm wants it: pointer, transposed?, leading dim. Takes a view
// whose rows or columns are unit-stride as it is; copies anything else.
struct GemmOperand {
  Tensor keep;  // holds the memory alive
  bool trans = false;
  int64_t ld = 0;
};

GemmOperand as_operand(const Tensor& m) {
  const int64_t r = m.size(-2), c = m.size(-1);
  const int64_t sr = m.strides()[m.dim() - 2], sc = m.strides()[m.dim() - 1];
  if (sc == 1 && (sr >= std::max<int64_t>(c, 1) || r == 1)) return {m, false, std::max<int64_t>(sr, c)};
  if (sr == 1 && (sc >= std::max<int64_t>(r, 1) || c == 1)) return {m, true, std::max<int64_t>(sc, r)};
  Tensor cm = m.contiguous();
  return {cm, false, std::max<int64_t>(c, 1)};
}

// out (M, N) = a (M, K) @ b (K, N) for 2-D views, with beta accumulate into out.
void mm_into(const char* op, const Tensor& a, const Tensor& b, const Tensor& out, double beta = 0.0) {
  GemmOperand A = as_operand(a), B = as_operand(b);
  gemm_at(op, A.trans, B.trans, a.size(0), b.size(1), a.size(1), A.keep, 0, A.ld, B.keep, 0, B.ld, beta, out, 0,
          out.size(1));
}

Tensor mm(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::empty({a.size(0), b.size(1)}, a.dtype(), a.device());
  mm_into("matmul", a, b, out);
  return out;
}

// Batched: a (B, M, K) @ b (B, K, N) -> (B, M, N); one GEMM per batch entry.
Tensor bmm_raw(const Tensor& a, const Tensor& b) {
  const int64_t B = a.size(0);
  Tensor out = Tensor::empty({B, a.size(1), b.size(2)}, a.dtype(), a.device());
  for (int64_t i = 0; i < B; ++i) mm_into("matmul", a.select(0, i), b.select(0, i), out.select(0, i));
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_same_kind(a, b, "matmul");
  check_float(a, "matmul");
  MOE_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: both operands need >= 2 dims, got {} and {}", a.str(), b.str());
  MOE_CHECK(a.size(-1) == b.size(-2), "matmul: inner dims differ: {} @ {}", a.str(), b.str());
  Tensor out;
  const Shape batch(a.shape().begin(), a.shape().end() - 2);
  {
    NoGradGuard no_grad;
    if (b.dim() == 2) {  // fold the batch into M
      Tensor a2 = a.dim() == 2 ? a : a.reshape({-1, a.size(-1)});
      out = mm(a2, b);
      Shape s = batch;
      s.push_back(a.size(-2));
      s.push_back(b.size(-1));
      out = out.view(s);
    } else {
      MOE_CHECK(Shape(b.shape().begin(), b.shape().end() - 2) == batch,
                "matmul: batch dims differ: {} @ {}", a.str(), b.str());
      Tensor a3 = a.reshape({-1, a.size(-2), a.size(-1)});
      Tensor b3 = b.reshape({-1, b.size(-2), b.size(-1)});
      out = bmm_raw(a3, b3);
      Shape s = batch;
      s.push_back(a.size(-2));
      s.push_back(b.size(-1));
      out = out.view(s);
    }
  }
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const bool b_is_2d = b.dim() == 2;
  Tensor ad = need_b ? a.detach() : Tensor(), bd = need_a ? b.detach() : Tensor();
  record(out, "matmul", {a, b}, [=](const Tensor& g) {
    Tensor ga, gb;
    if (need_a) ga = matmul(g, bd.transpose(-1, -2));
    if (need_b) {
      if (b_is_2d) {  // summed over the batch: (M*, K)^T @ (M*, N)
        Tensor a2 = ad.reshape({-1, ad.size(-1)}), g2 = g.reshape({-1, g.size(-1)});
        gb = mm(a2.t(), g2);
      } else {
        gb = matmul(ad.transpose(-1, -2), g);
      }
    }
    return std::vector<Tensor>{ga, gb};
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_same_kind(x, weight, "linear");
  check_float(x, "linear");
  MOE_CHECK(weight.dim() == 2, "linear: weight must be (out, in), got {}", weight.str());
  MOE_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input {} does not match weight {} (out, in)",
            x.str(), weight.str());
  const int64_t out_features = weight.size(0), in_features = weight.size(1);
  if (bias.defined()) {
    check_same_kind(x, bias, "linear");
    MOE_CHECK(bias.dim() == 1 && bias.size(0) == out_features, "linear: bias {} does not match weight {}",
              bias.str(), weight.str());
  }
  Tensor x2 = x.detach().reshape({-1, in_features});
  const int64_t M = x2.size(0);
  Tensor y = Tensor::empty({M, out_features}, x.dtype(), x.device());
  double beta = 0.0;
  if (bias.defined()) {  // y = bias broadcast, then y += x W^T in the same GEMM (beta = 1)
    y.copy_(bias.detach());
    beta = 1.0;
  }
  mm_into("linear", x2, weight.detach().t(), y, beta);
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor out = y.view(out_shape);
  if (!needs_grad({&x, &weight, &bias})) return out;
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(),
             need_b = bias.defined() && bias.requires_grad();
  Tensor wd = need_x ? weight.detach() : Tensor();
  Tensor xd = need_w ? x2 : Tensor();
  const Shape x_shape = x.shape();
  const bool has_bias = bias.defined();
  std::vector<Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  record(out, "linear", inputs, [=](const Tensor& g_in) {
    Tensor g = g_in.reshape({-1, out_features});
    std::vector<Tensor> grads(has_bias ? 3 : 2);
    if (need_x) grads[0] = mm(g, wd).view(x_shape);           // dx = dy W
    if (need_w) grads[1] = mm(g.t(), xd);                      // dW = dy^T x
    if (need_b) grads[2] = sum(g, {0});                        // db = sum over rows of dy
    return grads;
  });
  return out;
}

}  // namespace moe
