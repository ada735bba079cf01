// sparse/set.h: Sparse Evolutionary Training (Mocanu et al. 2018, Nature Communications
// 9:2383): sparse layers that start from an Erdos-Renyi topology and, after each epoch,
// drop the fraction zeta of their smallest-magnitude weights and regrow as many at random
// empty positions, keeping the number of connections fixed.
//
// SparseLinear holds a CsrPattern and its values as the parameter "values" (nnz) plus
// "bias" (out). Because nnz never changes, evolution rewrites "values" in place (the
// optimizer's handle stays valid) and permutes the optimizer's per-element state with it.
// Not here: the model (models/sparse_mlp.h) and the training loop (cli/set.cpp).
#pragma once
#include <string>

#include "moe/core/rng.h"
#include "moe/nn/module.h"
#include "moe/optim/optimizer.h"
#include "moe/sparse/csr.h"

namespace moe::sparse {

// SET's Erdos-Renyi density (paper, eq. 1: p(W_ij) = eps (n_in + n_out) / (n_in n_out)),
// capped at 1.
double erdos_renyi_density(int64_t n_in, int64_t n_out, double epsilon);
// A (rows, cols) pattern with exactly max(1, round(density * rows * cols)) live entries
// (capped at rows * cols) drawn uniformly without replacement. (The paper draws each entry
// independently with probability p; a fixed count keeps nnz, and so the parameter
// shapes, a function of the config alone.)
CsrPattern erdos_renyi_pattern(int64_t rows, int64_t cols, double density, Rng& rng);

// What one evolution step did to a layer.
struct EvolutionStats {
  int64_t removed = 0;         // connections pruned
  int64_t regrown = 0;         // connections added (== removed)
  int64_t changed = 0;         // regrown at positions that were not live before (a real move)
  int64_t live = 0;            // connections after the step
  double initial_overlap = 0;  // fraction of live connections that were in the initial topology
};

class SparseLinear : public nn::Module {
 public:
  // W (out, in) with ER density erdos_renyi_density(in, out, epsilon) (epsilon <= 0: dense
  // pattern). Values ~ N(0, 2 / (density * in)): He initialisation for the expected fan-in
  // of a unit, so activations keep their scale at any density; bias 0.
  SparseLinear(int64_t in_features, int64_t out_features, double epsilon, Rng& rng, DType dtype = DType::f32);
  // The layer over a given pattern and values (tests); bias 0.
  SparseLinear(CsrPattern pattern, const Tensor& values);

  Tensor forward(const Tensor& x) const;  // (B, in) -> (B, out)
  const CsrPatternPtr& pattern() const { return pattern_; }
  const Tensor& values() const { return values_; }
  const Tensor& bias() const { return bias_; }
  int64_t in_features() const { return pattern_->cols; }
  int64_t out_features() const { return pattern_->rows; }
  // Fraction of the live connections that were live at construction.
  double initial_overlap() const;

  // One SET step: removes the floor(zeta * nnz) live weights of smallest |w| (ties to the
  // lower entry index), regrows as many at uniformly random positions not live after the
  // removal, new weights = N(0, regrow_std^2) (0: exactly zero). When `optimizer` is given,
  // its state tensors for parameter `param_name` with nnz elements (SGD's momentum buffer,
  // Adam's m and v) follow their weights: kept entries keep their state, new ones get 0.
  EvolutionStats evolve(double zeta, double regrow_std, Rng& rng, optim::Optimizer* optimizer = nullptr,
                        const std::string& param_name = "values");

 private:
  CsrPatternPtr pattern_;
  std::vector<int64_t> initial_keys_;  // sorted row * cols + col of the initial topology
  Tensor values_, bias_;
};

// Permutes, in place, every state tensor of `optimizer` that belongs to `param_name`
// (named "<kind>.<slot>.<param_name>") and has `source.size()` elements:
// new[e] = source[e] >= 0 ? old[source[e]] : 0.
void remap_optimizer_state(optim::Optimizer& optimizer, const std::string& param_name,
                           const std::vector<int64_t>& source);

}  // namespace moe::sparse
