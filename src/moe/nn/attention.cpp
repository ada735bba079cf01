// nn/attention.cpp: MultiHeadAttention: qkv projection -> head views -> fused
// attention -> heads merged -> output projection (-> dropout).
#include "moe/nn/attention.h"

#include "moe/ops/attention.h"
#include "moe/ops/dropout.h"

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
  // (B, T, 3C) -> (3, B, H, T, D): strided views of the one projection; the attention
  // op reads them without a copy here.
  Tensor qkv = qkv_->forward(x).view({B, T, 3, H, D}).permute({2, 0, 3, 1, 4});
  Tensor y = attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), causal_);  // (B, H, T, D)
  y = proj_->forward(y.transpose(1, 2).reshape({B, T, d_model_}));
  return drop ? moe::dropout(y, dropout_, true, *rng) : y;
}

}  // namespace moe::nn
