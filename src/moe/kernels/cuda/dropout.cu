// kernels/cuda/dropout.cu: the dropout mask from Philox4x32-10 (Salmon et al. 2011) with
// the same key/counter layout and uniform transform as moe::Rng (core/rng.cpp), so the
// GPU draws, for one seed and offset, the very mask the CPU draws.
#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

// Word `word` (0..3) of philox4x32(ctr, key), as core/rng.cpp computes it.
__device__ inline uint32_t philox_word(uint64_t ctr, uint64_t key, int word) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(ctr), c1 = static_cast<uint32_t>(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = __umulhi(M0, c0), lo0 = M0 * c0;
    const uint32_t hi1 = __umulhi(M1, c2), lo1 = M1 * c2;
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += W0, k1 += W1;
  }
  return word == 0 ? c0 : word == 1 ? c1 : word == 2 ? c2 : c3;
}

__global__ void dropout_mask_kernel(float* mask, int64_t n, double p, float scale, uint64_t seed, uint64_t first) {
  MOE_GRID_STRIDE(i, n) {
    // Rng::uniform4_at: word i % 4 of counter first + i / 4, u32_to_unit in double, so the
    // comparison with p matches the CPU's bit for bit.
    const double u =
        (static_cast<double>(philox_word(first + i / 4, seed, static_cast<int>(i % 4))) + 0.5) * (1.0 / 4294967296.0);
    mask[i] = u >= p ? scale : 0.f;
  }
}

}  // namespace

void dropout_mask(float* mask, int64_t n, double p, float scale, uint64_t seed, uint64_t first) {
  if (n == 0) return;
  dropout_mask_kernel<<<grid_for(n), kThreads, 0, stream()>>>(mask, n, p, scale, seed, first);
  MOE_CUDA_LAUNCHED("dropout_mask");
}

}  // namespace moe::kernels::cuda
