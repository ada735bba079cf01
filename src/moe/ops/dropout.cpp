// ops/dropout.cpp: dropout: a scaled 0/(1/(1-p)) mask drawn in parallel from the
// counter-based Rng, applied with mul; the backward multiplies by the same mask.
#include "moe/ops/dropout.h"

#include "moe/autograd/autograd.h"
#include "moe/core/parallel.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/elementwise.h"

namespace moe {

namespace {

// mask[i] = scale where uniform4_at(seed, first, i) >= p, else 0.
template <class T>
void fill_mask(T* mask, int64_t n, double p, T scale, uint64_t seed, uint64_t first) {
  parallel_for(n, 16, [&](int64_t b, int64_t e) {
    double u[256];  // uniforms drawn in bulk (Rng::uniform4_fill), a block at a time
    for (int64_t i = b; i < e; i += 256) {
      const int64_t m = e - i < 256 ? e - i : 256;
      Rng::uniform4_fill(seed, first, static_cast<uint64_t>(i), m, u);
      for (int64_t j = 0; j < m; ++j) mask[i + j] = u[j] >= p ? scale : T(0);
    }
  });
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Rng& rng) {
  check_float(x, "dropout");
  MOE_CHECK(p >= 0.0 && p < 1.0, "dropout: p must be in [0, 1), got {} (input {})", p, x.str());
  if (!training || p == 0.0) return x;
  const int64_t n = x.numel();
  const uint64_t seed = rng.seed(), first = rng.reserve(static_cast<uint64_t>((n + 3) / 4));
  Tensor mask = Tensor::empty(x.shape(), x.dtype(), x.device());
  const double scale = 1.0 / (1.0 - p);
  switch (backend_of(x, "dropout")) {
    case Backend::cpu_f32: fill_mask(mask.data<float>(), n, p, static_cast<float>(scale), seed, first); break;
    case Backend::ref_f64: fill_mask(mask.data<double>(), n, p, scale, seed, first); break;
    case Backend::cuda_f32:  // the same Philox stream as the CPU: the same mask for one seed
      MOE_CUDA_ONLY("dropout", kernels::cuda::dropout_mask(mask.data<float>(), n, p, static_cast<float>(scale), seed,
                                                           first));
      break;
  }
  Tensor out;
  {
    NoGradGuard no_grad;
    out = mul(x, mask);
  }
  record(out, "dropout", {x}, [mask](const Tensor& g) { return std::vector<Tensor>{mul(g, mask)}; });
  return out;
}

}  // namespace moe
