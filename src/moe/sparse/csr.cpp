// sparse/csr.cpp: CsrPattern construction, validation and densification.
#include "moe/sparse/csr.h"

#include <algorithm>
#include <numeric>

#include "moe/core/error.h"

namespace moe::sparse {

double CsrPattern::density() const {
  return rows * cols == 0 ? 0.0 : static_cast<double>(nnz()) / static_cast<double>(rows * cols);
}

std::vector<int64_t> CsrPattern::entry_rows() const {
  std::vector<int64_t> out(col.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) out[e] = r;
  return out;
}

void CsrPattern::validate(const char* what) const {
  MOE_CHECK(rows >= 0 && cols >= 0, "{}: CSR pattern has negative size ({}, {})", what, rows, cols);
  MOE_CHECK(static_cast<int64_t>(row_ptr.size()) == rows + 1 && row_ptr.front() == 0 && row_ptr.back() == nnz(),
            "{}: CSR row_ptr must hold rows + 1 = {} offsets from 0 to nnz = {}", what, rows + 1, nnz());
  for (int64_t r = 0; r < rows; ++r) {
    MOE_CHECK(row_ptr[r] <= row_ptr[r + 1], "{}: CSR row_ptr decreases at row {}", what, r);
    for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) {
      MOE_CHECK(col[e] >= 0 && col[e] < cols, "{}: CSR entry {} of row {} has column {} outside [0, {})", what, e, r,
                col[e], cols);
      MOE_CHECK(e == row_ptr[r] || col[e - 1] < col[e], "{}: CSR columns of row {} are not strictly ascending at entry {}",
                what, r, e);
    }
  }
}

Tensor CsrPattern::to_dense(const Tensor& values) const {
  MOE_CHECK(values.dim() == 1 && values.size(0) == nnz(), "CsrPattern::to_dense: values must be ({}), got {}", nnz(),
            values.str());
  const std::vector<double> v = values.to_vector<double>();
  std::vector<double> dense(static_cast<size_t>(rows * cols), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t e = row_ptr[r]; e < row_ptr[r + 1]; ++e) dense[r * cols + col[e]] = v[e];
  return Tensor::from_vector(dense, {rows, cols}).to(values.dtype());
}

CsrPattern CsrPattern::from_coords(int64_t rows, int64_t cols, const std::vector<std::pair<int64_t, int64_t>>& coords,
                                   std::vector<int64_t>* order) {
  std::vector<int64_t> idx(coords.size());
  std::iota(idx.begin(), idx.end(), int64_t{0});
  std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return coords[a] < coords[b]; });
  CsrPattern p;
  p.rows = rows, p.cols = cols;
  p.row_ptr.assign(static_cast<size_t>(rows + 1), 0);
  p.col.reserve(coords.size());
  for (int64_t i : idx) {
    const auto [r, c] = coords[i];
    MOE_CHECK(r >= 0 && r < rows && c >= 0 && c < cols, "CsrPattern::from_coords: entry ({}, {}) outside ({}, {})", r, c,
              rows, cols);
    MOE_CHECK(p.col.empty() || coords[idx[p.col.size() - 1]] != coords[i],
              "CsrPattern::from_coords: entry ({}, {}) given twice", r, c);
    p.col.push_back(c);
    ++p.row_ptr[r + 1];
  }
  for (int64_t r = 0; r < rows; ++r) p.row_ptr[r + 1] += p.row_ptr[r];
  if (order) *order = std::move(idx);
  return p;
}

CsrPattern CsrPattern::dense(int64_t rows, int64_t cols) {
  CsrPattern p;
  p.rows = rows, p.cols = cols;
  p.row_ptr.resize(static_cast<size_t>(rows + 1));
  p.col.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r <= rows; ++r) p.row_ptr[r] = r * cols;
  for (int64_t i = 0; i < rows * cols; ++i) p.col[i] = i % cols;
  return p;
}

}  // namespace moe::sparse
