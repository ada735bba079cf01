// ops/dropout.h: inverted dropout (Srivastava et al. 2014) with a counter-based mask.
#pragma once
#include "moe/core/rng.h"
#include "moe/core/tensor.h"

namespace moe {

// In training, zeroes each element with probability p and scales the survivors by
// 1 / (1 - p), so the expected value is unchanged and evaluation needs no rescaling.
// Element i survives when Rng::uniform4_at(rng.seed(), first, i) >= p, with
// first = rng.reserve(ceil(x.numel() / 4)) (four 32-bit draws per Philox counter: the
// masks were ~5% of a char-LM training step at one counter per element, BENCHMARKS.md):
// the mask depends only on the seed and the
// generator's offset, never on the thread count. Returns x itself when !training or
// p == 0 (and then draws nothing from rng). p must be in [0, 1). The backward
// multiplies by the same saved mask.
Tensor dropout(const Tensor& x, double p, bool training, Rng& rng);

}  // namespace moe
