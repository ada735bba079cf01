// cpu/attention.cpp: float32 attention: the ref:: per-slice loops (already written as
// vectorisable axpys) run on chunks of the batch*heads slices in parallel, one slice
// per thread at a time, so no GEMM runs inside the parallel region.
#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

void attention_forward(const float* q, const float* k, const float* v, float* out, float* probs, int64_t BH,
                       int64_t Tn, int64_t D, bool causal, float scale) {
  parallel_for(BH, 2 * Tn * Tn * D, [&](int64_t b, int64_t e) {
    ref::attention_forward(q, k, v, out, probs, Tn, D, causal, scale, b, e);
  });
}

void attention_backward(const float* q, const float* k, const float* v, const float* probs, const float* gout,
                        float* gq, float* gk, float* gv, int64_t BH, int64_t Tn, int64_t D, bool causal,
                        float scale) {
  parallel_for(BH, 4 * Tn * Tn * D, [&](int64_t b, int64_t e) {
    ref::attention_backward(q, k, v, probs, gout, gq, gk, gv, Tn, D, causal, scale, b, e);
  });
}

}  // namespace moe::kernels::cpu
