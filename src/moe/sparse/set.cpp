// sparse/set.cpp: Erdos-Renyi topologies and the SET prune-and-regrow step.
#include "moe/sparse/set.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "moe/autograd/autograd.h"
#include "moe/core/error.h"
#include "moe/sparse/sparse_linear.h"

namespace moe::sparse {

namespace {

// `count` distinct positions in [0, total) not in `taken`, uniformly at random, in
// the order drawn. Rejection sampling while at least half the positions stay free to the
// end (each draw then succeeds with probability >= 1/2); otherwise a partial Fisher-Yates
// shuffle over the free positions (dense layers, high densities).
std::vector<int64_t> sample_free_positions(int64_t total, int64_t count, const std::unordered_set<int64_t>& taken,
                                           Rng& rng) {
  const int64_t free = total - static_cast<int64_t>(taken.size());
  MOE_CHECK(count <= free, "SET: cannot place {} connections in {} free positions", count, free);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  if (2 * (static_cast<int64_t>(taken.size()) + count) <= total) {
    std::unordered_set<int64_t> chosen;
    while (static_cast<int64_t>(out.size()) < count) {
      const int64_t k = rng.randint(0, total);
      if (taken.count(k) || !chosen.insert(k).second) continue;
      out.push_back(k);
    }
    return out;
  }
  std::vector<int64_t> pool;
  pool.reserve(static_cast<size_t>(free));
  for (int64_t k = 0; k < total; ++k)
    if (!taken.count(k)) pool.push_back(k);
  for (int64_t i = 0; i < count; ++i) {
    std::swap(pool[i], pool[rng.randint(i, free)]);
    out.push_back(pool[i]);
  }
  return out;
}

std::vector<int64_t> keys_of(const CsrPattern& p) {
  std::vector<int64_t> keys;
  keys.reserve(p.col.size());
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t e = p.row_ptr[r]; e < p.row_ptr[r + 1]; ++e) keys.push_back(r * p.cols + p.col[e]);
  return keys;  // row-major order: already sorted
}

// new[e] = source[e] >= 0 ? old[source[e]] : fill[e] (fill null: 0), in place.
void permute_inplace(const Tensor& t, const std::vector<int64_t>& source, const std::vector<double>* fill) {
  const std::vector<double> old = t.to_vector<double>();
  std::vector<double> out(source.size());
  for (size_t e = 0; e < source.size(); ++e)
    out[e] = source[e] >= 0 ? old[static_cast<size_t>(source[e])] : (fill ? (*fill)[e] : 0.0);
  t.copy_(Tensor::from_vector(out, t.shape()).to(t.dtype()));
}

}  // namespace

double erdos_renyi_density(int64_t n_in, int64_t n_out, double epsilon) {
  MOE_CHECK(n_in > 0 && n_out > 0, "erdos_renyi_density: sizes must be positive, got ({}, {})", n_in, n_out);
  MOE_CHECK(epsilon > 0, "erdos_renyi_density: epsilon must be > 0, got {}", epsilon);
  return std::min(1.0, epsilon * static_cast<double>(n_in + n_out) / (static_cast<double>(n_in) * n_out));
}

CsrPattern erdos_renyi_pattern(int64_t rows, int64_t cols, double density, Rng& rng) {
  MOE_CHECK(rows > 0 && cols > 0 && density > 0 && density <= 1,
            "erdos_renyi_pattern: need rows, cols > 0 and density in (0, 1], got ({}, {}) and {}", rows, cols, density);
  const int64_t total = rows * cols;
  const int64_t nnz = std::clamp<int64_t>(std::llround(density * static_cast<double>(total)), 1, total);
  if (nnz == total) return CsrPattern::dense(rows, cols);
  const std::vector<int64_t> keys = sample_free_positions(total, nnz, {}, rng);
  std::vector<std::pair<int64_t, int64_t>> coords;
  coords.reserve(keys.size());
  for (int64_t k : keys) coords.emplace_back(k / cols, k % cols);
  return CsrPattern::from_coords(rows, cols, coords);
}

SparseLinear::SparseLinear(int64_t in_features, int64_t out_features, double epsilon, Rng& rng, DType dtype) {
  const double density = epsilon > 0 ? erdos_renyi_density(in_features, out_features, epsilon) : 1.0;
  pattern_ = std::make_shared<const CsrPattern>(erdos_renyi_pattern(out_features, in_features, density, rng));
  const double fan_in = std::max(1.0, pattern_->density() * static_cast<double>(in_features));
  values_ = Tensor::randn({pattern_->nnz()}, rng, std::sqrt(2.0 / fan_in), dtype);
  bias_ = Tensor::zeros({out_features}, dtype);
  initial_keys_ = keys_of(*pattern_);
  register_parameter("values", values_);
  register_parameter("bias", bias_);
}

SparseLinear::SparseLinear(CsrPattern pattern, const Tensor& values) {
  pattern.validate("SparseLinear");
  MOE_CHECK(values.dim() == 1 && values.size(0) == pattern.nnz(), "SparseLinear: values must be ({}), got {}",
            pattern.nnz(), values.str());
  pattern_ = std::make_shared<const CsrPattern>(std::move(pattern));
  values_ = values.detach().clone();
  bias_ = Tensor::zeros({pattern_->rows}, values.dtype());
  initial_keys_ = keys_of(*pattern_);
  register_parameter("values", values_);
  register_parameter("bias", bias_);
}

Tensor SparseLinear::forward(const Tensor& x) const { return sparse_linear(x, pattern_, values_, bias_); }

double SparseLinear::initial_overlap() const {
  const std::vector<int64_t> keys = keys_of(*pattern_);
  if (keys.empty()) return 0.0;
  int64_t common = 0;
  for (int64_t k : keys) common += std::binary_search(initial_keys_.begin(), initial_keys_.end(), k);
  return static_cast<double>(common) / static_cast<double>(keys.size());
}

EvolutionStats SparseLinear::evolve(double zeta, double regrow_std, Rng& rng, optim::Optimizer* optimizer,
                                    const std::string& param_name) {
  MOE_CHECK(zeta >= 0 && zeta < 1, "SET: zeta must be in [0, 1), got {}", zeta);
  MOE_CHECK(regrow_std >= 0, "SET: regrow_std must be >= 0, got {}", regrow_std);
  const CsrPattern& p = *pattern_;
  const int64_t nnz = p.nnz(), total = p.rows * p.cols;
  const int64_t n_remove = static_cast<int64_t>(std::floor(zeta * static_cast<double>(nnz)));
  const std::vector<double> w = values_.to_vector<double>();
  std::vector<int64_t> by_magnitude(static_cast<size_t>(nnz));
  std::iota(by_magnitude.begin(), by_magnitude.end(), int64_t{0});
  std::stable_sort(by_magnitude.begin(), by_magnitude.end(),
                   [&](int64_t a, int64_t b) { return std::abs(w[a]) < std::abs(w[b]); });
  std::vector<bool> removed(static_cast<size_t>(nnz), false);
  for (int64_t i = 0; i < n_remove; ++i) removed[by_magnitude[i]] = true;

  // Kept entries first (their old index as source), then the regrown ones (source -1).
  const std::vector<int64_t> rows_of = p.entry_rows();
  std::vector<std::pair<int64_t, int64_t>> coords;
  std::vector<int64_t> source;
  std::unordered_set<int64_t> live, before;
  for (int64_t e = 0; e < nnz; ++e) {
    before.insert(rows_of[e] * p.cols + p.col[e]);
    if (removed[e]) continue;
    coords.emplace_back(rows_of[e], p.col[e]);
    source.push_back(e);
    live.insert(rows_of[e] * p.cols + p.col[e]);
  }
  EvolutionStats stats;
  for (int64_t k : sample_free_positions(total, n_remove, live, rng)) {
    coords.emplace_back(k / p.cols, k % p.cols);
    source.push_back(-1);
    stats.changed += before.count(k) ? 0 : 1;
  }
  std::vector<int64_t> order;
  CsrPattern next = CsrPattern::from_coords(p.rows, p.cols, coords, &order);
  std::vector<int64_t> new_source(order.size());
  std::vector<double> fill(order.size(), 0.0);
  for (size_t e = 0; e < order.size(); ++e) {
    new_source[e] = source[static_cast<size_t>(order[e])];
    if (new_source[e] < 0 && regrow_std > 0) fill[e] = regrow_std * rng.normal();
  }
  {
    NoGradGuard no_grad;
    permute_inplace(values_, new_source, &fill);
    values_.zero_grad();
    if (optimizer) remap_optimizer_state(*optimizer, param_name, new_source);
  }
  pattern_ = std::make_shared<const CsrPattern>(std::move(next));
  stats.removed = stats.regrown = n_remove;
  stats.live = pattern_->nnz();
  stats.initial_overlap = initial_overlap();
  return stats;
}

void remap_optimizer_state(optim::Optimizer& optimizer, const std::string& param_name,
                           const std::vector<int64_t>& source) {
  const std::string suffix = "." + param_name;
  for (const auto& [name, state] : optimizer.state_dict()) {
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string prefix = name.substr(0, name.size() - suffix.size());  // "<kind>.<slot>"
    if (std::count(prefix.begin(), prefix.end(), '.') != 1) continue;
    if (state.numel() != static_cast<int64_t>(source.size()) || !is_floating(state.dtype())) continue;
    permute_inplace(state, source, nullptr);
  }
}

}  // namespace moe::sparse
