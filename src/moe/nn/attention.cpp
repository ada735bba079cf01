// nn/attention.cpp: MultiHeadAttention: qkv projection -> head views -> fused
// attention -> heads merged -> output projection (-> dropout).
#include "moe/nn/attention.h"

#include <cmath>
#include <limits>

#include "moe/autograd/autograd.h"
#include "moe/ops/attention.h"
#include "moe/ops/dropout.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/matmul.h"
#include "moe/ops/softmax.h"

namespace moe::nn {

MultiHeadAttention::MultiHeadAttention(int64_t d_model, int64_t heads, bool causal, Rng& rng, bool bias,
                                       double dropout, DType dtype)
    : d_model_(d_model), heads_(heads), causal_(causal), dropout_(dropout) {
  MOE_CHECK(d_model > 0 && heads > 0 && d_model % heads == 0,
            "MultiHeadAttention: d_model must be a positive multiple of heads, got d_model={} heads={}", d_model,
            heads);
  MOE_CHECK(dropout >= 0.0 && dropout < 1.0, "MultiHeadAttention: dropout must be in [0, 1), got {}", dropout);
  qkv_ = register_module("qkv", std::make_shared<Linear>(d_model, 3 * d_model, rng, bias, dtype));
  proj_ = register_module("proj", std::make_shared<Linear>(d_model, d_model, rng, bias, dtype));
}

Tensor MultiHeadAttention::forward(const Tensor& x, Rng* rng) const {
  MOE_CHECK(x.defined() && x.dim() == 3 && x.size(2) == d_model_,
            "MultiHeadAttention: input must be (B, T, {}), got {}", d_model_,
            x.defined() ? x.str() : std::string("undefined"));
  const bool drop = is_training() && dropout_ > 0.0;
  MOE_CHECK(!drop || rng != nullptr, "MultiHeadAttention: training with dropout {} needs an Rng, got none",
            dropout_);
  const int64_t B = x.size(0), T = x.size(1), H = heads_, D = head_dim();
  // (B, T, 3C) viewed as (B, T, 3, H, D): the packed attention op reads q, k, v from the
  // one projection and writes their gradients back into one tensor.
  Tensor y = attention_packed(qkv_->forward(x).view({B, T, 3, H, D}), causal_);  // (B, H, T, D)
  y = proj_->forward(y.transpose(1, 2).reshape({B, T, d_model_}));
  return drop ? moe::dropout(y, dropout_, true, *rng) : y;
}

Tensor MultiHeadAttention::forward_cached(const Tensor& x, KVCache& cache, int64_t capacity) const {
  MOE_CHECK(x.defined() && x.dim() == 3 && x.size(2) == d_model_,
            "MultiHeadAttention::forward_cached: input must be (B, T, {}), got {}", d_model_,
            x.defined() ? x.str() : std::string("undefined"));
  MOE_CHECK(causal_, "MultiHeadAttention::forward_cached: only causal attention can be decoded incrementally");
  NoGradGuard no_grad;
  const int64_t B = x.size(0), Tn = x.size(1), H = heads_, D = head_dim(), past = cache.length;
  if (!cache.k.defined()) {
    cache.k = Tensor::empty({B, H, capacity, D}, x.dtype());
    cache.v = Tensor::empty({B, H, capacity, D}, x.dtype());
  }
  const int64_t cap = cache.k.size(2);
  MOE_CHECK(cache.k.size(0) == B && past + Tn <= cap,
            "MultiHeadAttention::forward_cached: {} new positions after {} cached exceed the cache's {} (batch {}, "
            "cache batch {})", Tn, past, cap, B, cache.k.size(0));
  Tensor qkv = qkv_->forward(x).view({B, Tn, 3, H, D}).permute({2, 0, 3, 1, 4});
  Tensor q = qkv.select(0, 0), k_new = qkv.select(0, 1), v_new = qkv.select(0, 2);  // (B, H, Tn, D)
  cache.k.slice(2, past, past + Tn).copy_(k_new);
  cache.v.slice(2, past, past + Tn).copy_(v_new);
  cache.length = past + Tn;
  Tensor y;
  if (past == 0) {
    y = attention(q, k_new, v_new, true);  // the prompt: plain causal attention over itself
  } else {
    // softmax(q K^T / sqrt(D)) V over the Tk = past + Tn cached positions; new row i sits
    // at position past + i and sees keys <= past + i.
    const int64_t Tk = past + Tn;
    Tensor keys = cache.k.slice(2, 0, Tk), values = cache.v.slice(2, 0, Tk);
    Tensor scores = mul(matmul(q, keys.transpose(2, 3)), 1.0 / std::sqrt(static_cast<double>(D)));
    if (Tn > 1) {
      Tensor mask = Tensor::zeros({Tn, Tk}, x.dtype());
      for (int64_t i = 0; i < Tn; ++i)
        mask.slice(0, i, i + 1).slice(1, past + i + 1, Tk).fill_(-std::numeric_limits<double>::infinity());
      scores = add(scores, mask);
    }
    y = matmul(softmax(scores, -1), values);  // (B, H, Tn, D)
  }
  return proj_->forward(y.transpose(1, 2).reshape({B, Tn, d_model_}));
}

}  // namespace moe::nn
