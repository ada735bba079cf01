// nn/embedding.h: Embedding, a learned lookup table from integer ids to vectors.
#pragma once
#include "moe/core/rng.h"
#include "moe/nn/module.h"

namespace moe::nn {

// torch.nn.Embedding(num_embeddings, dim): parameter "weight" (num_embeddings, dim),
// initialised N(0, 1) as torch does. The lookup and its scatter-add backward are the
// embedding op (ops/index.h); an id out of range throws there, naming it.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Rng& rng, DType dtype = DType::f32);
  // ids: int32/int64, any shape -> (*ids.shape, dim)
  Tensor forward(const Tensor& ids) const;
  Tensor operator()(const Tensor& ids) const { return forward(ids); }

  const Tensor& weight() const { return weight_; }
  int64_t num_embeddings() const { return num_embeddings_; }
  int64_t dim() const { return dim_; }

 private:
  int64_t num_embeddings_, dim_;
  Tensor weight_;
};

}  // namespace moe::nn
