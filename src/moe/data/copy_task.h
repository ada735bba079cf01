// data/copy_task.h: the copy task of the NTM and DNC papers (Graves et al. 2014, 2016):
// a sequence of random bit vectors, a delimiter, then as many blank steps during which
// the model must replay the sequence.
//
// For `bits` = W and length L, T = 2 L + 1 time steps, input channels W + 1:
//   t in [0, L):       input = (x_t, 0)        target 0, mask 0
//   t = L:             input = (0, 1)          the delimiter; target 0, mask 0
//   t in [L+1, 2L+1):  input = 0               target x_{t-L-1}, mask 1
// Bits are 0/1 with probability 1/2 each, drawn from the Rng in (t, b, bit) order.
#pragma once
#include <cstdint>

#include "moe/core/rng.h"
#include "moe/core/tensor.h"

namespace moe::data {

struct CopyBatch {
  Tensor inputs;   // (T, B, bits + 1)
  Tensor targets;  // (T, B, bits)
  Tensor mask;     // (T, B, 1): 1 on the output phase
  int64_t length = 0;
};

// One batch of `batch` sequences of `length` (>= 1) bit vectors of width `bits` (>= 1).
CopyBatch make_copy_batch(int64_t bits, int64_t length, int64_t batch, Rng& rng, DType dtype = DType::f32);

// Fraction of wrong bits on the output phase: a bit is predicted 1 when its logit is
// > 0 (sigmoid > 0.5). logits: (T, B, bits) as the batch's targets.
double bit_error_rate(const Tensor& logits, const CopyBatch& batch);

}  // namespace moe::data
