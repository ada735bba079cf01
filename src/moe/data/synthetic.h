// data/synthetic.h: small generated datasets for demos and tests.
#pragma once
#include "moe/core/rng.h"
#include "moe/core/tensor.h"

namespace moe::data {

struct Classification {
  Tensor features;  // (N, F) float32
  Tensor labels;    // (N) int64
};

// Interleaved spirals (the classic CS231n toy set): class c's points lie on the arm
// r = t, angle = 4 t + 2 pi c / classes + N(0, noise^2), t in [0, 1], in 2-D.
// Not linearly separable, so a linear model stays near 1/classes accuracy while a
// 2-layer MLP approaches 100%.
Classification make_spirals(int64_t points_per_class, int64_t classes, double noise, Rng& rng);

}  // namespace moe::data
