// nn/attention.h: MultiHeadAttention, multi-head scaled dot-product self-attention
// (Vaswani et al. 2017, sec. 3.2.2) with one fused qkv projection, as in GPT-2 and
// nanoGPT; the per-head arithmetic is the fused attention op (ops/attention.h).
#pragma once
#include "moe/core/rng.h"
#include "moe/nn/linear.h"

namespace moe::nn {

// Keys and values of one attention layer for incremental decoding: k, v (B, H, capacity,
// D), the first `length` positions filled. Made by the first forward_cached call.
struct KVCache {
  Tensor k, v;
  int64_t length = 0;
};

// Children "qkv" = Linear(d_model, 3 d_model) (output columns [q | k | v], each split
// into `heads` heads of d_model / heads) and "proj" = Linear(d_model, d_model), both
// with bias when `bias`. `dropout` (in [0, 1)) applies to the output in training.
class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t d_model, int64_t heads, bool causal, Rng& rng, bool bias = true, double dropout = 0.0,
                     DType dtype = DType::f32);
  // x: (B, T, d_model) -> (B, T, d_model). `rng` drives the output dropout; it is
  // required only in training with dropout > 0 (an error otherwise), and then draws.
  Tensor forward(const Tensor& x, Rng* rng = nullptr) const;
  Tensor operator()(const Tensor& x, Rng* rng = nullptr) const { return forward(x, rng); }
  // Inference (no autograd, no dropout): x (B, T_new, d_model) are the next T_new
  // positions of sequences whose first cache.length positions are cached. They attend to
  // the cached keys and, causally, to each other; their keys and values are appended
  // (the cache is allocated with room for `capacity` positions on first use). Equals
  // forward() over the whole sequence, restricted to the new rows.
  Tensor forward_cached(const Tensor& x, KVCache& cache, int64_t capacity) const;

  int64_t d_model() const { return d_model_; }
  int64_t heads() const { return heads_; }
  int64_t head_dim() const { return d_model_ / heads_; }
  bool causal() const { return causal_; }
  double dropout() const { return dropout_; }

 private:
  int64_t d_model_, heads_;
  bool causal_;
  double dropout_;
  std::shared_ptr<Linear> qkv_, proj_;
};

}  // namespace moe::nn
