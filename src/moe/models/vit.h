// models/vit.h: a small Vision Transformer classifier (Dosovitskiy et al. 2021, "An Image
// is Worth 16x16 Words", eqs. 1-4), built from a JSON config: non-overlapping p x p
// patches flattened and linearly embedded, a learned class token prepended, learned
// position embeddings added, pre-norm blocks of non-causal multi-head attention and a
// GELU MLP, a final LayerNorm and a linear head on the class token.
//
//   z0 = [cls; patchify(x) E^T + b] + pos                       (eq. 1)
//   per block:  z = z + attn(ln1(z));  z = z + mlp(ln2(z))      (eqs. 2, 3)
//   logits = head(ln_f(z[:, 0]))                                (eq. 4, linear head)
//
// Tensor names (docs/naming.md): patch_embed.{weight,bias} [C, ch*p*p], [C];
// cls_token [1, 1, C]; pos_emb [1, N+1, C]; blocks.{i}.{ln1,ln2}.{weight,bias};
// blocks.{i}.attn.{qkv,proj}.{weight,bias}; blocks.{i}.mlp.{fc1,fc2}.{weight,bias};
// ln_f.{weight,bias}; head.{weight,bias} [classes, C]. No dropout.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>

#include "moe/io/config.h"
#include "moe/nn/attention.h"
#include "moe/nn/linear.h"
#include "moe/nn/mlp.h"
#include "moe/nn/norm.h"

namespace moe::models {

struct ViTConfig {
  int64_t image_size = 28;  // square images, image_size x image_size
  int64_t channels = 1;
  int64_t patch_size = 7;   // must divide image_size
  int64_t d_model = 64;
  int64_t heads = 4;
  int64_t layers = 4;
  int64_t d_ff = 128;       // MLP hidden width
  int64_t classes = 10;

  // Reads the "model" object ({"kind": "vit", ...}); unknown keys are errors naming the key.
  static ViTConfig parse(io::ConfigReader& r);
  nlohmann::json to_json() const;
  int64_t patches_per_side() const { return image_size / patch_size; }
  int64_t num_patches() const { return patches_per_side() * patches_per_side(); }
  int64_t patch_dim() const { return channels * patch_size * patch_size; }
};

// images: (B, ch, H, W) -> (B, N, ch*p*p) with N = (H/p)(W/p) patches in row-major order
// (patch (i, j) is token i*(W/p)+j) and each patch flattened channel-major then row-major,
// as torch's x.unfold(2,p,p).unfold(3,p,p).permute(0,2,3,1,4,5).flatten(3) does. A
// reshape of a permuted view: differentiable, one copy.
Tensor patchify(const Tensor& images, int64_t patch_size);

class ViTBlock : public nn::Module {
 public:
  ViTBlock(const ViTConfig& c, Rng& rng, DType dtype);
  Tensor forward(const Tensor& x) const;  // (B, T, C) -> (B, T, C)

 private:
  std::shared_ptr<nn::LayerNorm> ln1_, ln2_;
  std::shared_ptr<nn::MultiHeadAttention> attn_;
  std::shared_ptr<nn::MLP> mlp_;
};

class ViT : public nn::Module {
 public:
  ViT(const ViTConfig& config, Rng& rng, DType dtype = DType::f32);
  // images: (B, ch, H, W), or (B, H, W) when ch = 1 -> logits (B, classes).
  Tensor forward(const Tensor& images) const;
  Tensor operator()(const Tensor& images) const { return forward(images); }
  const ViTConfig& config() const { return config_; }

 private:
  ViTConfig config_;
  std::shared_ptr<nn::Linear> patch_embed_;
  Tensor cls_token_, pos_emb_;
  std::shared_ptr<nn::ModuleList> blocks_;
  std::shared_ptr<nn::LayerNorm> ln_f_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace moe::models
