// models/sampling.h: choosing the next token from a row of logits.
#pragma once
#include <vector>

#include "moe/core/rng.h"

namespace moe::models {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy (argmax)
  int64_t top_k = 0;         // keep the k most likely tokens (0: all)
  double top_p = 1.0;        // nucleus: the smallest set whose probability reaches top_p
};

// Throws naming the option when one is out of range.
void check_sampling(const SamplingOptions& opt);

// Applies temperature, then top-k, then top-p to softmax(logits / temperature), and
// draws one id with `rng` (one uniform draw). Ties keep the lower id first.
int64_t sample_next(const std::vector<float>& logits, const SamplingOptions& opt, Rng& rng);

}  // namespace moe::models
