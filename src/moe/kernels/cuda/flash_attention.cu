// kernels/cuda/flash_attention.cu: fused attention in the style of FlashAttention-2
// (Dao 2023, Alg. 1 forward, Alg. 2 backward): one pass over the keys per block of
// queries with an online softmax, saving only the row logsumexp, so memory is O(T D),
// never a (T, T) matrix. Each warp owns one query row (forward, dQ) or one key row
// (dK, dV) and each lane kD = ceil(D / 32) of its dims; key (or query) tiles are staged
// in shared memory for the block's 8 warps. Each output element is written by one lane
// that adds its terms in a fixed order: no atomics, deterministic. fp32 throughout;
// a first, untuned version (no tensor cores): correctness first, speed on the GPU later.
#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

constexpr int kWarps = 8;   // rows per block
constexpr int kTile = 32;   // keys (or queries) per shared-memory tile

// Loads rows [r0, r0 + kTile) of a (Tn, D) matrix into tile (kTile, D), zero past Tn.
__device__ inline void load_tile(const float* src, float* tile, int64_t r0, int64_t Tn, int64_t D) {
  for (int64_t i = threadIdx.x; i < kTile * D; i += blockDim.x) {
    const int64_t r = r0 + i / D;
    tile[i] = r < Tn ? src[r * D + i % D] : 0.f;
  }
}

template <int kD> __device__ inline float dot_row(const float (&a)[kD], const float* b, int64_t D) {
  const int lane = threadIdx.x & 31;
  float s = 0.f;
#pragma unroll
  for (int e = 0; e < kD; ++e) {
    const int64_t d = lane + 32 * e;
    if (d < D) s += a[e] * b[d];
  }
  return warp_sum(s);
}

template <int kD> __device__ inline void load_row(float (&a)[kD], const float* src, int64_t D) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int e = 0; e < kD; ++e) {
    const int64_t d = lane + 32 * e;
    a[e] = d < D ? src[d] : 0.f;
  }
}

template <int kD> __device__ inline void store_row(const float (&a)[kD], float* dst, int64_t D, float mul) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int e = 0; e < kD; ++e) {
    const int64_t d = lane + 32 * e;
    if (d < D) dst[d] = a[e] * mul;
  }
}

// grid: (ceil(T / kWarps), BH); warp w of block x owns query row t = x * kWarps + w.
template <int kD>
__global__ void flash_forward_kernel(const float* q, const float* k, const float* v, float* out, float* lse,
                                     int64_t Tn, int64_t D, bool causal, float scale) {
  extern __shared__ float smem[];
  float* k_tile = smem;
  float* v_tile = smem + kTile * D;
  const int64_t bh = blockIdx.y, base = bh * Tn * D;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kWarps, t = t0 + warp;
  const bool active = t < Tn;
  float qr[kD], o[kD];
  load_row(qr, q + base + (active ? t : 0) * D, D);
#pragma unroll
  for (int e = 0; e < kD; ++e) o[e] = 0.f;
  float m = -INFINITY, l = 0.f;
  const int64_t key_end = causal ? min(Tn, t0 + kWarps) : Tn;  // the block's last visible key + 1
  for (int64_t s0 = 0; s0 < key_end; s0 += kTile) {
    __syncthreads();
    load_tile(k + base, k_tile, s0, Tn, D);
    load_tile(v + base, v_tile, s0, Tn, D);
    __syncthreads();
    if (!active) continue;
    const int64_t s_end = min(s0 + kTile, causal ? t + 1 : Tn);
    for (int64_t s = s0; s < s_end; ++s) {
      const float score = dot_row(qr, k_tile + (s - s0) * D, D) * scale;
      const float m_new = fmaxf(m, score);
      const float correction = expf(m - m_new), p = expf(score - m_new);
      l = l * correction + p;
      const float* vr = v_tile + (s - s0) * D;
#pragma unroll
      for (int e = 0; e < kD; ++e) {
        const int64_t d = lane + 32 * e;
        o[e] = o[e] * correction + (d < D ? p * vr[d] : 0.f);
      }
      m = m_new;
    }
  }
  if (!active) return;
  store_row(o, out + base + t * D, D, 1.f / l);
  if (lane == 0) lse[bh * Tn + t] = m + logf(l);
}

// delta[row] = <gout[row], out[row]>, the rowsum(dP * P) of the softmax backward.
__global__ void flash_delta_kernel(const float* out, const float* gout, float* delta, int64_t rows, int64_t D) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (row >= rows) return;
  float s = 0.f;
  for (int64_t d = threadIdx.x & 31; d < D; d += 32) s += out[row * D + d] * gout[row * D + d];
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0) delta[row] = s;
}

// dQ: warp per query row i: dQ_i = scale sum_j P_ij (dP_ij - delta_i) k_j.
template <int kD>
__global__ void flash_dq_kernel(const float* q, const float* k, const float* v, const float* lse, const float* delta,
                                const float* gout, float* gq, int64_t Tn, int64_t D, bool causal, float scale) {
  extern __shared__ float smem[];
  float* k_tile = smem;
  float* v_tile = smem + kTile * D;
  const int64_t bh = blockIdx.y, base = bh * Tn * D;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kWarps, t = t0 + warp;
  const bool active = t < Tn;
  const int64_t row = active ? t : 0;
  float qr[kD], gr[kD], acc[kD];
  load_row(qr, q + base + row * D, D);
  load_row(gr, gout + base + row * D, D);
#pragma unroll
  for (int e = 0; e < kD; ++e) acc[e] = 0.f;
  const float row_lse = lse[bh * Tn + row], row_delta = delta[bh * Tn + row];
  const int64_t key_end = causal ? min(Tn, t0 + kWarps) : Tn;
  for (int64_t s0 = 0; s0 < key_end; s0 += kTile) {
    __syncthreads();
    load_tile(k + base, k_tile, s0, Tn, D);
    load_tile(v + base, v_tile, s0, Tn, D);
    __syncthreads();
    if (!active) continue;
    const int64_t s_end = min(s0 + kTile, causal ? t + 1 : Tn);
    for (int64_t s = s0; s < s_end; ++s) {
      const float* kr = k_tile + (s - s0) * D;
      const float p = expf(dot_row(qr, kr, D) * scale - row_lse);
      const float ds = p * (dot_row(gr, v_tile + (s - s0) * D, D) - row_delta);
#pragma unroll
      for (int e = 0; e < kD; ++e) {
        const int64_t d = lane + 32 * e;
        if (d < D) acc[e] += ds * kr[d];
      }
    }
  }
  if (active) store_row(acc, gq + base + t * D, D, scale);
}

// dK, dV: warp per key row j: dV_j = sum_i P_ij dO_i, dK_j = scale sum_i dS_ij q_i.
template <int kD>
__global__ void flash_dkdv_kernel(const float* q, const float* k, const float* v, const float* lse,
                                  const float* delta, const float* gout, float* gk, float* gv, int64_t Tn, int64_t D,
                                  bool causal, float scale) {
  extern __shared__ float smem[];
  float* q_tile = smem;
  float* g_tile = smem + kTile * D;
  float* lse_tile = smem + 2 * kTile * D;
  float* delta_tile = lse_tile + kTile;
  const int64_t bh = blockIdx.y, base = bh * Tn * D;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * kWarps, j = j0 + warp;
  const bool active = j < Tn;
  const int64_t row = active ? j : 0;
  float kr[kD], vr[kD], dk[kD], dv[kD];
  load_row(kr, k + base + row * D, D);
  load_row(vr, v + base + row * D, D);
#pragma unroll
  for (int e = 0; e < kD; ++e) dk[e] = dv[e] = 0.f;
  const int64_t query_begin = causal ? (j0 / kTile) * kTile : 0;  // tiles before this see no key of the block
  for (int64_t i0 = query_begin; i0 < Tn; i0 += kTile) {
    __syncthreads();
    load_tile(q + base, q_tile, i0, Tn, D);
    load_tile(gout + base, g_tile, i0, Tn, D);
    for (int64_t i = threadIdx.x; i < kTile; i += blockDim.x) {
      lse_tile[i] = i0 + i < Tn ? lse[bh * Tn + i0 + i] : 0.f;
      delta_tile[i] = i0 + i < Tn ? delta[bh * Tn + i0 + i] : 0.f;
    }
    __syncthreads();
    if (!active) continue;
    const int64_t i_begin = causal ? max(i0, j) : i0, i_end = min(i0 + kTile, Tn);
    for (int64_t i = i_begin; i < i_end; ++i) {
      const float* qi = q_tile + (i - i0) * D;
      const float* gi = g_tile + (i - i0) * D;
      const float p = expf(dot_row(kr, qi, D) * scale - lse_tile[i - i0]);
      const float ds = p * (dot_row(vr, gi, D) - delta_tile[i - i0]);
#pragma unroll
      for (int e = 0; e < kD; ++e) {
        const int64_t d = lane + 32 * e;
        if (d < D) dv[e] += p * gi[d], dk[e] += ds * qi[d];
      }
    }
  }
  if (!active) return;
  store_row(dk, gk + base + j * D, D, scale);
  store_row(dv, gv + base + j * D, D, 1.f);
}

// Calls f(std::integral_constant<int, kD>) for the D at hand (D <= 128).
template <class F> void with_head_dim(int64_t D, const char* op, F&& f) {
  if (D <= 32) return f(std::integral_constant<int, 1>{});
  if (D <= 64) return f(std::integral_constant<int, 2>{});
  if (D <= 96) return f(std::integral_constant<int, 3>{});
  if (D <= 128) return f(std::integral_constant<int, 4>{});
  ::moe::cuda::fail(op, "head dim over 128 is not supported", __FILE__, __LINE__);
}

}  // namespace

void flash_attention_forward(const float* q, const float* k, const float* v, float* out, float* lse, int64_t BH,
                             int64_t Tn, int64_t D, bool causal, float scale) {
  if (BH * Tn == 0) return;
  const dim3 grid(static_cast<unsigned>((Tn + kWarps - 1) / kWarps), static_cast<unsigned>(BH));
  const size_t smem = sizeof(float) * 2 * kTile * D;
  with_head_dim(D, "flash_attention_forward", [&](auto kd) {
    flash_forward_kernel<decltype(kd)::value>
        <<<grid, kWarps * 32, smem, stream()>>>(q, k, v, out, lse, Tn, D, causal, scale);
  });
  MOE_CUDA_LAUNCHED("flash_attention_forward");
}

void flash_attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                              const float* gout, float* gq, float* gk, float* gv, int64_t BH, int64_t Tn, int64_t D,
                              bool causal, float scale) {
  if (BH * Tn == 0) return;
  DeviceBuffer delta(sizeof(float) * BH * Tn);
  const int64_t rows = BH * Tn;
  flash_delta_kernel<<<static_cast<unsigned>((rows + kWarps - 1) / kWarps), kWarps * 32, 0, stream()>>>(
      out, gout, delta.as<float>(), rows, D);
  MOE_CUDA_LAUNCHED("flash_attention_backward (delta)");
  const dim3 grid(static_cast<unsigned>((Tn + kWarps - 1) / kWarps), static_cast<unsigned>(BH));
  with_head_dim(D, "flash_attention_backward", [&](auto kd) {
    constexpr int kD = decltype(kd)::value;
    flash_dq_kernel<kD><<<grid, kWarps * 32, sizeof(float) * 2 * kTile * D, stream()>>>(
        q, k, v, lse, delta.as<float>(), gout, gq, Tn, D, causal, scale);
    MOE_CUDA_LAUNCHED("flash_attention_backward (dq)");
    flash_dkdv_kernel<kD><<<grid, kWarps * 32, sizeof(float) * (2 * kTile * D + 2 * kTile), stream()>>>(
        q, k, v, lse, delta.as<float>(), gout, gk, gv, Tn, D, causal, scale);
    MOE_CUDA_LAUNCHED("flash_attention_backward (dk, dv)");
  });
}

}  // namespace moe::kernels::cuda
