// models/vit.cpp: ViT config parsing, patchify and the forward pass.
#include "moe/models/vit.h"

#include "moe/ops/elementwise.h"
#include "moe/ops/join.h"

namespace moe::models {

ViTConfig ViTConfig::parse(io::ConfigReader& r) {
  ViTConfig c;
  const std::string kind = r.require<std::string>("kind");
  MOE_CHECK(kind == "vit", "{}: expected 'vit', got '{}'", r.where("kind"), kind);
  c.image_size = r.get<int64_t>("image_size", c.image_size);
  c.channels = r.get<int64_t>("channels", c.channels);
  c.patch_size = r.require<int64_t>("patch_size");
  c.d_model = r.require<int64_t>("d_model");
  c.heads = r.require<int64_t>("heads");
  c.layers = r.require<int64_t>("layers");
  c.d_ff = r.require<int64_t>("d_ff");
  c.classes = r.get<int64_t>("classes", c.classes);
  auto positive = [&](const char* key, int64_t v) { MOE_CHECK(v >= 1, "{}: must be >= 1, got {}", r.where(key), v); };
  positive("image_size", c.image_size);
  positive("channels", c.channels);
  positive("patch_size", c.patch_size);
  positive("d_model", c.d_model);
  positive("heads", c.heads);
  positive("layers", c.layers);
  positive("d_ff", c.d_ff);
  MOE_CHECK(c.classes >= 2, "{}: must be >= 2, got {}", r.where("classes"), c.classes);
  MOE_CHECK(c.image_size % c.patch_size == 0, "{}: patch_size {} does not divide image_size {}",
            r.where("patch_size"), c.patch_size, c.image_size);
  MOE_CHECK(c.d_model % c.heads == 0, "{}: d_model {} is not divisible by heads {}", r.where("heads"), c.d_model,
            c.heads);
  r.finish();
  return c;
}

nlohmann::json ViTConfig::to_json() const {
  return {{"kind", "vit"},         {"image_size", image_size}, {"channels", channels}, {"patch_size", patch_size},
          {"d_model", d_model},    {"heads", heads},           {"layers", layers},     {"d_ff", d_ff},
          {"classes", classes}};
}

Tensor patchify(const Tensor& images, int64_t p) {
  MOE_CHECK(images.defined() && images.dim() == 4 && p >= 1 && images.size(2) % p == 0 && images.size(3) % p == 0,
            "patchify: images must be (B, ch, H, W) with H and W multiples of the patch size {}, got {}", p,
            images.defined() ? images.str() : std::string("undefined"));
  const int64_t B = images.size(0), ch = images.size(1), gh = images.size(2) / p, gw = images.size(3) / p;
  // (B, ch, gh, p, gw, p) -> (B, gh, gw, ch, p, p) -> (B, gh*gw, ch*p*p)
  return images.reshape({B, ch, gh, p, gw, p}).permute({0, 2, 4, 1, 3, 5}).reshape({B, gh * gw, ch * p * p});
}

ViTBlock::ViTBlock(const ViTConfig& c, Rng& rng, DType dtype) {
  ln1_ = register_module("ln1", std::make_shared<nn::LayerNorm>(c.d_model, 1e-5, true, dtype));
  attn_ = register_module("attn", std::make_shared<nn::MultiHeadAttention>(c.d_model, c.heads, /*causal=*/false, rng,
                                                                           true, 0.0, dtype));
  ln2_ = register_module("ln2", std::make_shared<nn::LayerNorm>(c.d_model, 1e-5, true, dtype));
  mlp_ = register_module("mlp", std::make_shared<nn::MLP>(c.d_model, c.d_ff, c.d_model, "gelu", rng, true, dtype));
}

Tensor ViTBlock::forward(const Tensor& x) const {
  Tensor h = add(x, attn_->forward(ln1_->forward(x)));
  return add(h, mlp_->forward(ln2_->forward(h)));
}

ViT::ViT(const ViTConfig& c, Rng& rng, DType dtype) : config_(c) {
  MOE_CHECK(c.image_size % c.patch_size == 0 && c.d_model % c.heads == 0,
            "vit: patch_size {} must divide image_size {} and heads {} divide d_model {}", c.patch_size, c.image_size,
            c.heads, c.d_model);
  // Class token and position embeddings ~ N(0, 0.02^2), as timm's VisionTransformer.
  cls_token_ = Tensor::randn({1, 1, c.d_model}, rng, 0.02, dtype);
  pos_emb_ = Tensor::randn({1, c.num_patches() + 1, c.d_model}, rng, 0.02, dtype);
  register_parameter("cls_token", cls_token_);
  register_parameter("pos_emb", pos_emb_);
  patch_embed_ = register_module("patch_embed", std::make_shared<nn::Linear>(c.patch_dim(), c.d_model, rng, true, dtype));
  blocks_ = register_module("blocks", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < c.layers; ++i) blocks_->push_back(std::make_shared<ViTBlock>(c, rng, dtype));
  ln_f_ = register_module("ln_f", std::make_shared<nn::LayerNorm>(c.d_model, 1e-5, true, dtype));
  head_ = register_module("head", std::make_shared<nn::Linear>(c.d_model, c.classes, rng, true, dtype));
}

Tensor ViT::forward(const Tensor& images) const {
  const ViTConfig& c = config_;
  Tensor x = images.defined() && images.dim() == 3 && c.channels == 1 ? images.unsqueeze(1) : images;
  MOE_CHECK(x.defined() && x.dim() == 4 && x.size(1) == c.channels && x.size(2) == c.image_size &&
                x.size(3) == c.image_size,
            "vit: images must be (B, {}, {}, {}){}, got {}", c.channels, c.image_size, c.image_size,
            c.channels == 1 ? " or (B, H, W)" : "", images.defined() ? images.str() : std::string("undefined"));
  const int64_t B = x.size(0);
  Tensor tokens = patch_embed_->forward(patchify(x, c.patch_size));                    // (B, N, C)
  Tensor z = concat({cls_token_.expand({B, 1, c.d_model}), tokens}, 1);                // (B, N+1, C)
  z = add(z, pos_emb_);
  for (size_t i = 0; i < blocks_->size(); ++i) z = static_cast<const ViTBlock&>(*(*blocks_)[i]).forward(z);
  return head_->forward(ln_f_->forward(z.select(1, 0)));  // the class token's final state
}

}  // namespace moe::models
