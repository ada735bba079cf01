// models/memory_fewshot.h: the memory-augmented few-shot transformer (issue #7): an
// encoder (a patch transformer over small images, or an MLP over feature vectors), an
// external key-value memory written from the support set and read by the queries with
// attention, and a head that scores the read values against the N relabelled classes.
//
// Per episode (Santoro et al. 2016, "Meta-Learning with Memory-Augmented Neural
// Networks", whose memory holds (input, label) bindings, and Vinyals et al. 2016, whose
// attention read over the support set this is when every item has its own slot):
//   h = encoder(x)                      (n, d_model)
//   k = W_key h - mean_support(W_key h) keys of support items and of queries alike (d_key),
//                                       centred on the support set's mean key
//   v_i = E[y_i]                        the label embedding of support item i (d_value)
//   write:  memory = memory_write(...)  one slot per support item (slots = 0), or an
//           attention-based blend into `slots` learned slots (below), addressed by
//           write query W_write h_i + A[y_i] (A: learned label addresses, so that a
//           class's items can gather in the same slots)
//   read:   r_q = softmax(k_q K^T / sqrt(d_key)) V
//   logits: r_q . E[c] * scale          for c < N
// The memory is reset for each episode: only the encoder, projections, slot
// initialisation and label embeddings are meta-learned, so nothing in the weights can
// hold an episode's classes (their labels are arbitrary per episode).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "moe/io/config.h"
#include "moe/nn/attention.h"
#include "moe/nn/mlp.h"
#include "moe/nn/norm.h"

namespace moe::models {

// ---- the memory (composed of differentiable ops; any float dtype) ----

struct KeyValueMemory {
  Tensor keys;    // (M, d_key)
  Tensor values;  // (M, d_value)
};

// Attention read: softmax(queries keys^T / sqrt(d_key)) values.
// queries (Q, d_key), keys (M, d_key), values (M, d_value) -> (Q, d_value).
Tensor memory_read(const Tensor& queries, const Tensor& keys, const Tensor& values);
// The read weights alone, softmax(queries keys^T / sqrt(d_key)): (Q, M), rows sum to 1.
Tensor memory_read_weights(const Tensor& queries, const Tensor& keys);

// Attention-based write of n items into M slots, all items at once (order-free), with
// write weights w = memory_write_weights(addresses, write_queries):
//   w_im = softmax_m(write_queries_i . addresses_m / sqrt(d_key))     (n, M)
//   u_m  = sum_i w_im                                                 written mass
//   K_m  = (K0_m + sum_i w_im item_keys_i)   / (1 + u_m)
//   V_m  = (V0_m + sum_i w_im item_values_i) / (1 + u_m)
// i.e. each slot becomes the mass-weighted mean of its initial content (weight 1) and
// the items written to it, the blend of NTM's erase/add write (Graves et al. 2014,
// eqs. 3-4) with the erase set by how much is written. init: K0 (M, d_key), V0 (M,
// d_value); write_weights (n, M); item_keys (n, d_key); item_values (n, d_value).
KeyValueMemory memory_write(const KeyValueMemory& init, const Tensor& write_weights, const Tensor& item_keys,
                            const Tensor& item_values);
// w (n, M): addresses (M, d_key), write_queries (n, d_key).
Tensor memory_write_weights(const Tensor& addresses, const Tensor& write_queries);

// ---- the model ----

struct FewShotConfig {
  std::string encoder = "patch_transformer";  // or "mlp"
  int64_t image_size = 28;                    // patch_transformer: inputs are image_size^2 pixels
  int64_t patch = 7;                          // patch side; must divide image_size
  int64_t d_model = 64;
  int64_t heads = 4;
  int64_t layers = 2;
  int64_t ff_hidden = 128;  // transformer blocks' MLP width; the mlp encoder's hidden width
  int64_t input_dim = 0;    // mlp encoder: features per example (required there)
  int64_t key_dim = 64;
  int64_t value_dim = 64;
  int64_t slots = 32;       // 0: one slot per support item (direct write); > 0: attention write
  int64_t max_ways = 5;     // label embeddings (the most classes an episode may have)

  int64_t features() const { return encoder == "mlp" ? input_dim : image_size * image_size; }
  // Reads the "model" object strictly (unknown keys are errors); `r.finish()` is called.
  static FewShotConfig from_config(io::ConfigReader r);
  // Throws when a value is out of range; messages are `where` + the key + the problem
  // (`where` = "file: model." from a config, "MemoryFewShot: " otherwise).
  void validate(const std::string& where) const;
};

struct FewShotOutput {
  Tensor logits;         // (n_query, N)
  Tensor read_weights;   // (n_query, M)
  Tensor write_weights;  // (n_support, slots); undefined with the direct write
  Tensor embeddings;     // encoder outputs h: (n_support + n_query, d_model), support first
};

// A pre-norm transformer encoder block, non-causal (every patch sees every patch).
class EncoderBlock : public nn::Module {
 public:
  EncoderBlock(int64_t d_model, int64_t heads, int64_t ff_hidden, Rng& rng, DType dtype);
  Tensor forward(const Tensor& x) const;  // (B, T, d_model) -> same

 private:
  std::shared_ptr<nn::LayerNorm> ln1_, ln2_;
  std::shared_ptr<nn::MultiHeadAttention> attn_;
  std::shared_ptr<nn::MLP> mlp_;
};

class MemoryFewShot : public nn::Module {
 public:
  MemoryFewShot(const FewShotConfig& config, Rng& rng, DType dtype = DType::f32);

  // x: (n, features) -> (n, d_model)
  Tensor encode(const Tensor& x) const;
  // support (N*K, F), support_labels (N*K) int64 in [0, ways), query (n_query, F).
  FewShotOutput forward(const Tensor& support, const Tensor& support_labels, const Tensor& query, int64_t ways) const;

  const FewShotConfig& config() const { return config_; }

 private:
  FewShotConfig config_;
  DType dtype_;
  std::shared_ptr<nn::Linear> patch_embed_, key_, write_key_;
  std::shared_ptr<nn::MLP> mlp_encoder_;
  std::shared_ptr<nn::ModuleList> blocks_;
  std::shared_ptr<nn::LayerNorm> ln_final_;
  Tensor positions_;       // (tokens, d_model)
  Tensor label_values_;    // E: (max_ways, value_dim)
  Tensor label_addresses_; // (max_ways, key_dim): added to an item's key to address its write
  Tensor slot_addresses_, slot_keys_, slot_values_;  // (slots, .): addresses, K0, V0
  Tensor logit_scale_;     // scalar
};

}  // namespace moe::models
