// models/transformer_lm.h: the decoder-only transformer language model, built from a
// JSON config: token + learned position embeddings, pre-norm blocks of causal
// multi-head attention and a feed-forward part that is dense or an MoE layer (any
// router and expert kind), a final norm and a linear LM head.
//
//   x = tok_emb(ids) + pos_emb(0..T-1)
//   per block:  x = x + drop(attn(norm1(x)));  x = x + drop(ffn(norm2(x)))
//   logits = head(norm_f(x))
//
// Cycle sharing ("maximum intelligence, minimum parameters"): `physical_blocks` P <
// `layers` L stores P blocks and runs L logical layers, logical layer i running physical
// block i mod P (the same weights, gradients accumulated from every use). With
// `router_per_layer`, logical layer i >= P routes with its own router `routers.{i-P}`
// over the shared block's experts; otherwise every use shares the block's router.
//
// Tensor names (docs/naming.md): tok_emb.weight, pos_emb.weight,
// blocks.{i}.{ln1,ln2}.{weight,bias}, blocks.{i}.attn.{qkv,proj}.{weight,bias},
// blocks.{i}.moe.router.gate.weight (+ .noise.weight), blocks.{i}.moe.experts.{w1,b1,w2,b2}
// or blocks.{i}.mlp.{fc1,fc2}.{weight,bias}, ln_f.{weight,bias}, head.{weight,bias}.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "moe/io/config.h"
#include "moe/moe/moe_layer.h"
#include "moe/nn/attention.h"
#include "moe/nn/embedding.h"
#include "moe/nn/linear.h"
#include "moe/nn/mlp.h"

namespace moe::models {

struct LMConfig {
  int64_t vocab_size = 0;  // set from the tokenizer when 0 in the file
  int64_t context = 32;
  int64_t d_model = 128;
  int64_t heads = 8;
  int64_t layers = 8;           // logical depth
  int64_t physical_blocks = 0;  // 0: = layers (no sharing)
  bool router_per_layer = false;
  double dropout = 0.0;
  std::string norm = "layernorm";  // layernorm | rmsnorm
  bool head_bias = true;
  std::string ffn = "moe";         // moe | dense
  int64_t d_ff = 512;              // dense ffn
  std::string activation = "relu"; // dense ffn
  MoEConfig moe;                   // ffn == "moe"

  // Reads the "model" object; unknown keys are errors naming the key.
  static LMConfig parse(io::ConfigReader& r);
  nlohmann::json to_json() const;
  int64_t physical() const { return physical_blocks > 0 ? physical_blocks : layers; }
};

class Block : public nn::Module {
 public:
  Block(const LMConfig& c, Rng& rng, DType dtype);
  // `router` (optional): route the MoE feed-forward with this router instead of its own.
  Tensor forward(const Tensor& x, Rng* rng, Router* router = nullptr);
  // Inference with a key/value cache (nn::MultiHeadAttention::forward_cached).
  Tensor forward_cached(const Tensor& x, nn::KVCache& cache, int64_t capacity, Router* router = nullptr);
  MoELayer* moe() const { return moe_.get(); }

 private:
  double dropout_;
  std::shared_ptr<nn::Module> ln1_, ln2_;
  std::shared_ptr<nn::MultiHeadAttention> attn_;
  std::shared_ptr<MoELayer> moe_;
  std::shared_ptr<nn::MLP> mlp_;
};

// Incremental decoding state: one key/value cache per logical layer (a cycle-shared
// block's uses each have their own: the inputs differ) and the positions cached so far.
struct DecodeState {
  std::vector<nn::KVCache> layers;
  int64_t length = 0;
  void clear() { *this = DecodeState(); }
};

class TransformerLM : public nn::Module {
 public:
  TransformerLM(const LMConfig& config, Rng& rng, DType dtype = DType::f32);
  // ids: (B, T) int64 with T <= context -> logits (B, T, vocab). `rng` drives dropout and
  // router noise in training (required then; unused in eval mode).
  Tensor forward(const Tensor& ids, Rng* rng = nullptr);
  // Inference with a key/value cache (eval mode, no autograd): ids (B, T_new) are the
  // positions state.length .. state.length + T_new - 1 of the sequences (the first call
  // is the prompt, then one token at a time) -> logits (B, T_new, vocab), the same as
  // forward() over the whole sequence at those positions. Each new token costs its own
  // projections and experts plus attention over the cached positions, not a rerun of
  // the window. Throws when the sequence would pass the context (the learned position
  // table ends there): the caller starts a new state with a shorter window.
  Tensor forward_cached(const Tensor& ids, DecodeState& state);

  const LMConfig& config() const { return config_; }
  // Sum over logical layers of the weighted aux losses of the last forward (undefined if none).
  Tensor aux_loss() const { return aux_loss_; }
  // The physical MoE layers in depth order (empty for a dense model).
  std::vector<MoELayer*> moe_layers() const;
  // Every router: the physical layers' own, then the per-logical-layer ones.
  std::vector<Router*> routers() const;
  // Expert-choice routers: route per token (top-k on the same scores; causal, usable
  // one token at a time) instead of across the batch. No effect on other routers.
  void set_expert_choice_per_token(bool per_token);
  // Per logical MoE layer, from the last forward: its routing stats and its routing.
  const std::vector<RoutingStats>& layer_stats() const { return layer_stats_; }
  const std::vector<RouterOutput>& layer_routing() const { return layer_routing_; }
  // Distinct parameters a token's forward touches: everything but the embeddings' other
  // rows and the experts it is not routed to (k experts per logical use, at most E per
  // shared block: an upper bound when a token revisits a block).
  int64_t active_parameters_per_token() const;

 private:
  LMConfig config_;
  std::shared_ptr<nn::Embedding> tok_emb_, pos_emb_;
  std::shared_ptr<nn::ModuleList> blocks_, routers_;
  std::shared_ptr<nn::Module> ln_f_;
  std::shared_ptr<nn::Linear> head_;
  Tensor aux_loss_;
  std::vector<RoutingStats> layer_stats_;
  std::vector<RouterOutput> layer_routing_;
};

}  // namespace moe::models
