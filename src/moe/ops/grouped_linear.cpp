// ops/grouped_linear.cpp: segment-wise linear maps, forward and backward as GEMMs.
#include "moe/ops/grouped_linear.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/to_device.h"

namespace moe {

namespace {

void check_offsets(const std::vector<int64_t>& offsets, int64_t E, int64_t rows) {
  MOE_CHECK(static_cast<int64_t>(offsets.size()) == E + 1, "grouped_linear: {} offsets for {} segments (need E + 1)",
            offsets.size(), E);
  MOE_CHECK(offsets.front() == 0 && offsets.back() == rows, "grouped_linear: offsets must run from 0 to {} rows, got {}..{}",
            rows, offsets.front(), offsets.back());
  for (int64_t e = 0; e < E; ++e)
    MOE_CHECK(offsets[e] <= offsets[e + 1], "grouped_linear: offsets decrease at segment {}", e);
}

// Sum of the rows of segment e of g (A, out) into db row e (E, out).
void segment_bias_grad(const Tensor& g, int64_t r0, int64_t n, const Tensor& db, int64_t e) {
  const int64_t out = g.size(1);
  switch (backend_of(g, "grouped_linear")) {
    case Backend::cpu_f32:
      kernels::cpu::reduce_sum(g.data<float>() + r0 * out, db.data<float>() + e * out, 1, n, out);
      break;
    case Backend::ref_f64:
      kernels::ref::reduce_sum(g.data<double>() + r0 * out, db.data<double>() + e * out, 1, n, out);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("grouped_linear", kernels::cuda::reduce_sum(g.data<float>() + r0 * out, db.data<float>() + e * out, 1,
                                                                n, out));
      break;
  }
}

}  // namespace

Tensor grouped_linear(const Tensor& x_in, const std::vector<int64_t>& offsets, const Tensor& weight_in,
                      const Tensor& bias_in) {
  check_same_kind(x_in, weight_in, "grouped_linear");
  check_float(x_in, "grouped_linear");
  MOE_CHECK(x_in.dim() == 2, "grouped_linear: x must be (rows, in), got {}", x_in.str());
  MOE_CHECK(weight_in.dim() == 3 && weight_in.size(2) == x_in.size(1),
            "grouped_linear: weight must be (E, out, in) with in = {}, got {}", x_in.size(1), weight_in.str());
  const int64_t E = weight_in.size(0), out_f = weight_in.size(1), in_f = weight_in.size(2), A = x_in.size(0);
  check_offsets(offsets, E, A);
  const bool has_bias = bias_in.defined();
  if (has_bias) {
    check_same_kind(x_in, bias_in, "grouped_linear");
    MOE_CHECK(bias_in.dim() == 2 && bias_in.size(0) == E && bias_in.size(1) == out_f,
              "grouped_linear: bias must be (E, out) = ({}, {}), got {}", E, out_f, bias_in.str());
  }
  Tensor x = x_in.detach().contiguous(), w = weight_in.detach().contiguous();
  Tensor b = has_bias ? bias_in.detach().contiguous() : Tensor();
  Tensor y = Tensor::empty({A, out_f}, x.dtype(), x.device());
  for (int64_t e = 0; e < E; ++e) {
    const int64_t r0 = offsets[e], n = offsets[e + 1] - r0;
    if (n == 0) continue;
    if (has_bias) y.slice(0, r0, r0 + n).copy_(b.select(0, e));
    gemm_at("grouped_linear", false, true, n, out_f, in_f, x, r0 * in_f, in_f, w, e * out_f * in_f, in_f,
            has_bias ? 1.0 : 0.0, y, r0 * out_f, out_f);
  }
  if (!needs_grad({&x_in, &weight_in, &bias_in})) return y;
  const bool need_x = x_in.requires_grad(), need_w = weight_in.requires_grad(), need_b = has_bias && bias_in.requires_grad();
  Tensor xs = need_w ? x : Tensor(), ws = need_x ? w : Tensor();
  std::vector<Tensor> inputs{x_in, weight_in};
  if (has_bias) inputs.push_back(bias_in);
  record(y, "grouped_linear", inputs, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    std::vector<Tensor> grads(has_bias ? 3 : 2);
    Tensor dx = need_x ? Tensor::empty({A, in_f}, g.dtype(), g.device()) : Tensor();
    // dW: each expert's block written whole by its GEMM (beta 0); only an expert that
    // got no rows is zero-filled (filling all of dW first was ~1% of a char-LM step).
    Tensor dw = need_w ? Tensor::empty({E, out_f, in_f}, g.dtype(), g.device()) : Tensor();
    Tensor db = need_b ? zeros_on({E, out_f}, g.dtype(), g.device()) : Tensor();
    for (int64_t e = 0; e < E; ++e) {
      const int64_t r0 = offsets[e], n = offsets[e + 1] - r0;
      if (n == 0) {
        if (need_w) dw.select(0, e).fill_(0.0);
        continue;
      }
      if (need_x)  // dx_e = dy_e W_e
        gemm_at("grouped_linear", false, false, n, in_f, out_f, g, r0 * out_f, out_f, ws, e * out_f * in_f, in_f, 0.0,
                dx, r0 * in_f, in_f);
      if (need_w)  // dW_e = dy_e^T x_e
        gemm_at("grouped_linear", true, false, out_f, in_f, n, g, r0 * out_f, out_f, xs, r0 * in_f, in_f, 0.0, dw,
                e * out_f * in_f, in_f);
      if (need_b) segment_bias_grad(g, r0, n, db, e);
    }
    grads[0] = dx, grads[1] = dw;
    if (has_bias) grads[2] = db;
    return grads;
  });
  return y;
}

}  // namespace moe
