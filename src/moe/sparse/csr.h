// sparse/csr.h: CsrPattern, the structure (which entries are live) of a sparse matrix W
// (rows, cols) in compressed sparse row form. The values live elsewhere, in a Tensor of
// nnz entries in the pattern's order, so they can be a Module parameter that autograd
// and the optimizers see as an ordinary dense vector. A pattern is immutable once built;
// SET's topology changes build a new one (sparse/set.h).
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "moe/core/tensor.h"

namespace moe::sparse {

struct CsrPattern {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> row_ptr;  // (rows + 1): entries of row r are [row_ptr[r], row_ptr[r + 1])
  std::vector<int64_t> col;      // (nnz): strictly ascending within a row

  int64_t nnz() const { return static_cast<int64_t>(col.size()); }
  double density() const;  // nnz / (rows * cols)
  // The row of every entry, (nnz).
  std::vector<int64_t> entry_rows() const;
  // Throws naming `what` unless the arrays are consistent (sizes, ranges, order).
  void validate(const char* what) const;
  // Dense (rows, cols) matrix with `values` (nnz) at the live entries, zeros elsewhere
  // (tests and inspection; no autograd).
  Tensor to_dense(const Tensor& values) const;

  // The pattern with live entries at `coords` (row, col), in any order, no duplicates.
  // `order`, when given, receives for each new entry e the index in `coords` it came from.
  static CsrPattern from_coords(int64_t rows, int64_t cols, const std::vector<std::pair<int64_t, int64_t>>& coords,
                                std::vector<int64_t>* order = nullptr);
  // Every entry live (density 1).
  static CsrPattern dense(int64_t rows, int64_t cols);
};

using CsrPatternPtr = std::shared_ptr<const CsrPattern>;

}  // namespace moe::sparse
