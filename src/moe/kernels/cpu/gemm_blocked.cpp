// cpu/gemm_blocked.cpp: the built-in float32 GEMM for builds without BLAS
// (MOE_BLAS=none: phones, ARM boards), in the BLIS layout (Van Zee & van de Geijn,
// "BLIS: A Framework for Rapidly Instantiating BLAS Functionality", 2015):
//   C is cut into (MC, NC) tiles, computed in parallel, one thread per tile;
//   for each KC-deep slab, the tile's rows of op(A) and columns of op(B) are packed
//   into contiguous micro-panels (MR rows / NR columns, zero-padded at the edges);
//   a register-tiled MR x NR micro-kernel multiplies one A and one B micro-panel.
// The micro-kernel is plain C++ whose NR-wide inner loop GCC vectorises at -O3 (SSE,
// AVX, NEON alike): no intrinsics. Each C element is owned by one thread and summed in
// a fixed k order (KC slabs in order), so results do not depend on the thread count.
#include <algorithm>
#include <vector>

#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

namespace {

// Register tile: MR x NR accumulators, sized per instruction set (no intrinsics, only
// the shape differs) from measured micro-kernel throughput with GCC 12 -O3:
#if defined(__AVX512F__)
constexpr int64_t MR = 6, NR = 32;  // 12 of 32 zmm registers
#elif defined(__aarch64__)
constexpr int64_t MR = 8, NR = 12;  // 24 of 32 NEON registers (BLIS's armv8a sgemm shape)
#else
constexpr int64_t MR = 4, NR = 16;  // SSE2 / AVX2: 16 xmm or 8 ymm registers
#endif
// Cache blocking: a KC x NR micro-panel of B (12-32 KiB) stays in L1 while the
// MC x KC block of A (64-128 KiB) streams from L2; the KC x NC block of B (192-512 KiB)
// sits in L2. (NC = 32 NR halved AVX-512 throughput at 1024^3: B fell out of L2.)
constexpr int64_t KC = 256, MC = 16 * MR, NC = 16 * NR;

// Packs rows [i0, i0 + mc) x depth [p0, p0 + kc) of op(A) as micro-panels of MR rows:
// panel r holds dst[r * kc * MR + p * MR + i] = op(A)(i0 + r * MR + i, p0 + p).
void pack_a(bool trans_a, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
    const int64_t rows = std::min(MR, mc - ir);
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t i = 0; i < MR; ++i) {
        const int64_t r = i0 + ir + i, c = p0 + p;
        dst[p * MR + i] = i < rows ? (trans_a ? A[c * lda + r] : A[r * lda + c]) : 0.0f;
      }
  }
}

// Packs depth [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) as micro-panels of NR
// columns: panel r holds dst[r * kc * NR + p * NR + j] = op(B)(p0 + p, j0 + r * NR + j).
void pack_b(bool trans_b, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
            float* dst) {
  for (int64_t jr = 0; jr < nc; jr += NR, dst += kc * NR) {
    const int64_t cols = std::min(NR, nc - jr);
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t j = 0; j < NR; ++j) {
        const int64_t r = p0 + p, c = j0 + jr + j;
        dst[p * NR + j] = j < cols ? (trans_b ? B[c * ldb + r] : B[r * ldb + c]) : 0.0f;
      }
  }
}

// C (mr <= MR, nr <= NR) += alpha * a_panel^T b_panel over kc: the accumulators live in
// registers and the j loop is the vector loop. Without the pragmas GCC vectorises the
// p loop instead and keeps acc in memory (4x slower). clang ignores the GCC pragmas:
// its aarch64 code for this loop is scalar with spills, so build with GCC on ARM too.
void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float alpha, float* c,
                  int64_t ldc, int64_t mr, int64_t nr) {
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p, a += MR, b += NR) {
#pragma GCC unroll 16
    for (int64_t i = 0; i < MR; ++i) {
      const float a_i = a[i];
#pragma GCC ivdep
      for (int64_t j = 0; j < NR; ++j) acc[i][j] += a_i * b[j];
    }
  }
  if (mr == MR && nr == NR) {
    for (int64_t i = 0; i < MR; ++i)
      for (int64_t j = 0; j < NR; ++j) c[i * ldc + j] += alpha * acc[i][j];
  } else {
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] += alpha * acc[i][j];
  }
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace

void gemm_blocked(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  // Tile sizes: the cache-blocking maxima, shrunk (never below one 4 x 4 block of
  // micro-tiles) until every thread has about two tiles to balance.
  int64_t mc = std::min(MC, round_up(M, MR)), nc = std::min(NC, round_up(N, NR));
  const int64_t threads = in_parallel_region() ? 1 : num_threads();
  auto tiles = [&] { return ((M + mc - 1) / mc) * ((N + nc - 1) / nc); };
  while (tiles() < 2 * threads) {
    if (nc >= mc && nc > 4 * NR) nc = round_up(nc / 2, NR);
    else if (mc > 4 * MR) mc = round_up(mc / 2, MR);
    else break;
  }
  const int64_t tiles_n = (N + nc - 1) / nc;
  parallel_for(tiles(), mc * nc * std::max<int64_t>(K, 1), [&](int64_t t0, int64_t t1) {
    std::vector<float> a_packed(mc * KC), b_packed(KC * nc);
    for (int64_t tile = t0; tile < t1; ++tile) {
      const int64_t i0 = tile / tiles_n * mc, j0 = tile % tiles_n * nc;
      const int64_t m = std::min(mc, M - i0), n = std::min(nc, N - j0);
      for (int64_t i = i0; i < i0 + m; ++i) {  // beta == 0 overwrites C, NaN included
        float* c = C + i * ldc + j0;
        if (beta == 0.0f) std::fill(c, c + n, 0.0f);
        else if (beta != 1.0f)
          for (int64_t j = 0; j < n; ++j) c[j] *= beta;
      }
      for (int64_t p0 = 0; p0 < K; p0 += KC) {
        const int64_t kc = std::min(KC, K - p0);
        pack_a(trans_a, A, lda, i0, m, p0, kc, a_packed.data());
        pack_b(trans_b, B, ldb, p0, kc, j0, n, b_packed.data());
        for (int64_t jr = 0; jr < n; jr += NR)
          for (int64_t ir = 0; ir < m; ir += MR)
            micro_kernel(kc, a_packed.data() + ir * kc, b_packed.data() + jr * kc, alpha,
                         C + (i0 + ir) * ldc + j0 + jr, ldc, std::min(MR, m - ir), std::min(NR, n - jr));
      }
    }
  });
}

}  // namespace moe::kernels::cpu
