// kernels/cuda/index.cu: index_select / index_add (embedding forward and backward),
// gather / scatter_add, top-k and where, on the device (specs in kernels/ref/index.cpp).
// The accumulating kernels give each thread one (outer, column) and let it add the
// contributions in ascending k: no atomics, the ref's order, bit-for-bit deterministic.
#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

__global__ void index_select_kernel(const float* x, const int64_t* index, float* out, int64_t n, int64_t K,
                                    int64_t inner, int64_t total) {
  MOE_GRID_STRIDE(i, total) {
    const int64_t j = i % inner, k = (i / inner) % K, o = i / (inner * K);
    out[i] = x[(o * n + index[k]) * inner + j];
  }
}

__global__ void index_add_kernel(float* out, const int64_t* index, const float* src, int64_t outer, int64_t n,
                                 int64_t K, int64_t inner) {
  MOE_GRID_STRIDE(i, outer * inner) {
    const int64_t o = i / inner, j = i % inner;
    for (int64_t k = 0; k < K; ++k) out[(o * n + index[k]) * inner + j] += src[(o * K + k) * inner + j];
  }
}

__global__ void gather_kernel(const float* x, const int64_t* index, float* out, int64_t n, int64_t K, int64_t inner,
                              int64_t total) {
  MOE_GRID_STRIDE(i, total) {
    const int64_t j = i % inner, o = i / (inner * K);
    out[i] = x[(o * n + index[i]) * inner + j];
  }
}

__global__ void scatter_add_kernel(float* out, const int64_t* index, const float* src, int64_t outer, int64_t n,
                                   int64_t K, int64_t inner) {
  MOE_GRID_STRIDE(i, outer * inner) {
    const int64_t o = i / inner, j = i % inner;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t at = (o * K + k) * inner + j;
      out[(o * n + index[at]) * inner + j] += src[at];
    }
  }
}

// u ranks before v: NaN above every number, then by value; `largest` picks the direction.
__device__ inline bool ranks_before(float u, int64_t iu, float v, int64_t iv, bool largest) {
  const bool u_above = (isnan(u) && !isnan(v)) || u > v;
  const bool v_above = (isnan(v) && !isnan(u)) || v > u;
  const bool u_first = largest ? u_above : v_above, v_first = largest ? v_above : u_above;
  return u_first || (!v_first && iu < iv);
}

// One thread per row: k selection passes, each taking the best element that ranks after
// the previous pick (the order is strict and total, so no element is taken twice).
__global__ void topk_kernel(const float* x, float* values, int64_t* indices, int64_t rows, int64_t n, int64_t k,
                            bool largest) {
  MOE_GRID_STRIDE(r, rows) {
    const float* row = x + r * n;
    float prev = 0.f;
    int64_t prev_i = -1;
    for (int64_t s = 0; s < k; ++s) {
      int64_t best = -1;
      for (int64_t i = 0; i < n; ++i) {
        if (prev_i >= 0 && !ranks_before(prev, prev_i, row[i], i, largest)) continue;
        if (best < 0 || ranks_before(row[i], i, row[best], best, largest)) best = i;
      }
      values[r * k + s] = row[best];
      indices[r * k + s] = best;
      prev = row[best], prev_i = best;
    }
  }
}

__global__ void where_kernel(const float* mask, const float* a, float* out, Strided g, int64_t total) {
  MOE_GRID_STRIDE(i, total) {
    int64_t om, oa;
    strided_offsets(g, i, om, oa);
    if (mask[om] != 0.f) out[i] = a[oa];
  }
}

}  // namespace

void index_select(const float* x, const int64_t* index, float* out, int64_t outer, int64_t n, int64_t K,
                  int64_t inner) {
  const int64_t total = outer * K * inner;
  if (total == 0) return;
  index_select_kernel<<<grid_for(total), kThreads, 0, stream()>>>(x, index, out, n, K, inner, total);
  MOE_CUDA_LAUNCHED("index_select");
}

void index_add(float* out, const int64_t* index, const float* src, int64_t outer, int64_t n, int64_t K,
               int64_t inner) {
  if (outer * inner == 0 || K == 0) return;
  index_add_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(out, index, src, outer, n, K, inner);
  MOE_CUDA_LAUNCHED("index_add");
}

void gather(const float* x, const int64_t* index, float* out, int64_t outer, int64_t n, int64_t K, int64_t inner) {
  const int64_t total = outer * K * inner;
  if (total == 0) return;
  gather_kernel<<<grid_for(total), kThreads, 0, stream()>>>(x, index, out, n, K, inner, total);
  MOE_CUDA_LAUNCHED("gather");
}

void scatter_add(float* out, const int64_t* index, const float* src, int64_t outer, int64_t n, int64_t K,
                 int64_t inner) {
  if (outer * inner == 0 || K == 0) return;
  scatter_add_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(out, index, src, outer, n, K, inner);
  MOE_CUDA_LAUNCHED("scatter_add");
}

void topk(const float* x, float* values, int64_t* indices, int64_t rows, int64_t n, int64_t k, bool largest) {
  if (rows == 0 || k == 0) return;
  topk_kernel<<<grid_for(rows, 128), 128, 0, stream()>>>(x, values, indices, rows, n, k, largest);
  MOE_CUDA_LAUNCHED("topk");
}

void where_into(const float* mask, const float* a, float* out, const Strided& g) {
  const int64_t total = numel_of(g);
  if (total == 0) return;
  where_kernel<<<grid_for(total), kThreads, 0, stream()>>>(mask, a, out, g, total);
  MOE_CUDA_LAUNCHED("where_into");
}

}  // namespace moe::kernels::cuda
