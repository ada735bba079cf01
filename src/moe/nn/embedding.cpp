// nn/embedding.cpp: Embedding over the embedding op.
#include "moe/nn/embedding.h"

#include "moe/ops/index.h"

namespace moe::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t dim, Rng& rng, DType dtype)
    : num_embeddings_(num_embeddings), dim_(dim) {
  MOE_CHECK(num_embeddings > 0 && dim > 0, "Embedding: sizes must be positive, got num_embeddings={} dim={}",
            num_embeddings, dim);
  weight_ = Tensor::randn({num_embeddings, dim}, rng, 1.0, dtype);
  register_parameter("weight", weight_);
}

Tensor Embedding::forward(const Tensor& ids) const { return embedding(weight_, ids); }

}  // namespace moe::nn
