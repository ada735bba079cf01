// cpu/sparse.cpp: the CSR linear kernels in a batch-inner layout. The ref:: loops walk one
// batch row at a time, so their inner loop is an indirect gather with a serial sum; here
// x and gy are transposed once to (features, B) and every live entry becomes one
// contiguous, vectorisable pass over the batch:
//   forward   yT[r, :]   += w[e] * xT[col[e], :]
//   grad x    gxT[c, :]  += w[e] * gyT[r, :]
//   grad w    gw[e]       = <gyT[r, :], xT[col[e], :]>
// The transposes cost O(B (in + out)), small next to O(B nnz) once the density is above
// ~1 / min(in, out). Work is split by output rows (forward, grad w) or batch columns
// (grad x), so each element is written by one thread in a fixed order: no atomics, the
// same bits for any thread count.
#include <algorithm>
#include <vector>

#include "moe/core/parallel.h"
#include "moe/kernels/kernels.h"

namespace moe::kernels::cpu {

namespace {

// dst (cols, rows) = src (rows, cols)^T, in 32 x 32 tiles.
void transpose(const float* src, float* dst, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += kTile)
    for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const int64_t i1 = std::min(rows, i0 + kTile), j1 = std::min(cols, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
    }
}

// <a, b> over n floats with 8 partial sums (vectorisable without reassociating a single sum).
float dot8(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[j + k] * b[j + k];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < n; ++j) s += a[j] * b[j];
  return s;
}

}  // namespace

void csr_linear_forward(const float* x, const int64_t* row_ptr, const int64_t* col, const float* w,
                        const float* bias, float* y, int64_t B, int64_t in, int64_t out) {
  std::vector<float> xT(static_cast<size_t>(in * B)), yT(static_cast<size_t>(out * B));
  transpose(x, xT.data(), B, in);
  const int64_t per_row = (row_ptr[out] / (out > 0 ? out : 1) + 1) * B;
  parallel_for(out, per_row, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* yr = yT.data() + r * B;
      const float b0 = bias ? bias[r] : 0.0f;
      for (int64_t j = 0; j < B; ++j) yr[j] = b0;
      for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) {
        const float we = w[e];
        const float* xc = xT.data() + col[e] * B;
        for (int64_t j = 0; j < B; ++j) yr[j] += we * xc[j];
      }
    }
  });
  transpose(yT.data(), y, out, B);
}

void csr_linear_backward_x(const float* gy, const int64_t* row_ptr, const int64_t* col, const float* w, float* gx,
                           int64_t B, int64_t in, int64_t out) {
  std::vector<float> gyT(static_cast<size_t>(out * B)), gxT(static_cast<size_t>(in * B), 0.0f);
  transpose(gy, gyT.data(), B, out);
  parallel_for(B, row_ptr[out] + in, [&](int64_t j0, int64_t j1) {
    for (int64_t r = 0; r < out; ++r) {
      const float* gr = gyT.data() + r * B;
      for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) {
        const float we = w[e];
        float* gc = gxT.data() + col[e] * B;
        for (int64_t j = j0; j < j1; ++j) gc[j] += we * gr[j];
      }
    }
  });
  transpose(gxT.data(), gx, in, B);
}

void csr_linear_backward_w(const float* x, const float* gy, const int64_t* row_ptr, const int64_t* col, float* gw,
                           int64_t B, int64_t in, int64_t out) {
  std::vector<float> xT(static_cast<size_t>(in * B)), gyT(static_cast<size_t>(out * B));
  transpose(x, xT.data(), B, in);
  transpose(gy, gyT.data(), B, out);
  const int64_t per_row = (row_ptr[out] / (out > 0 ? out : 1) + 1) * B;
  parallel_for(out, per_row, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* gr = gyT.data() + r * B;
      for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) gw[e] = dot8(gr, xT.data() + col[e] * B, B);
    }
  });
}

}  // namespace moe::kernels::cpu
