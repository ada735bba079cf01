// test_sparse_set.cpp: the CSR sparse linear op (against the masked dense product, float64
// gradchecks, cpu:: against ref::), Erdos-Renyi topologies and SET's prune-and-regrow step
// (counts, which weights go, optimizer state following its weights).
#include <algorithm>
#include <map>

#include "moe/kernels/kernels.h"
#include "moe/optim/adam.h"
#include "moe/optim/sgd.h"
#include "moe/sparse/set.h"
#include "moe/sparse/sparse_linear.h"
#include "test_util.h"

namespace moe::sparse {
namespace {

using test::expect_error;
using test::rand32;
using test::rand64;

// A random (rows, cols) pattern with about `density` of its entries live and the rows in
// `empty_rows` left empty.
CsrPattern random_pattern(int64_t rows, int64_t cols, double density, uint64_t seed,
                          const std::vector<int64_t>& empty_rows = {}) {
  Rng rng(seed);
  const std::vector<double> u = Tensor::rand({rows * cols}, rng, 0.0, 1.0, DType::f64).to_vector<double>();
  std::vector<std::pair<int64_t, int64_t>> coords;
  for (int64_t r = 0; r < rows; ++r) {
    if (std::find(empty_rows.begin(), empty_rows.end(), r) != empty_rows.end()) continue;
    for (int64_t c = 0; c < cols; ++c)
      if (u[r * cols + c] < density) coords.emplace_back(r, c);
  }
  return CsrPattern::from_coords(rows, cols, coords);
}

// y[b, r] = bias[r] + sum_c x[b, c] W[r, c] with W = pattern.to_dense(values): plain loops.
std::vector<double> dense_reference(const Tensor& x, const CsrPattern& p, const Tensor& values, const Tensor& bias) {
  const std::vector<double> w = p.to_dense(values).to_vector<double>(), xv = x.contiguous().to_vector<double>();
  const std::vector<double> bv = bias.to_vector<double>();
  const int64_t B = x.size(0);
  std::vector<double> y(static_cast<size_t>(B * p.rows));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t r = 0; r < p.rows; ++r) {
      double acc = bv[r];
      for (int64_t c = 0; c < p.cols; ++c) acc += xv[b * p.cols + c] * w[r * p.cols + c];
      y[b * p.rows + r] = acc;
    }
  return y;
}

TEST(SparseCsr, FromCoordsSortsAndValidates) {
  std::vector<int64_t> order;
  const CsrPattern p = CsrPattern::from_coords(3, 4, {{2, 1}, {0, 3}, {0, 0}, {2, 0}}, &order);
  EXPECT_EQ(p.row_ptr, (std::vector<int64_t>{0, 2, 2, 4}));
  EXPECT_EQ(p.col, (std::vector<int64_t>{0, 3, 0, 1}));
  EXPECT_EQ(order, (std::vector<int64_t>{2, 1, 3, 0}));
  EXPECT_EQ(p.entry_rows(), (std::vector<int64_t>{0, 0, 2, 2}));
  EXPECT_DOUBLE_EQ(p.density(), 4.0 / 12.0);
  p.validate("test");
  expect_error([] { CsrPattern::from_coords(2, 2, {{0, 1}, {0, 1}}); }, {"(0, 1) given twice"});
  expect_error([] { CsrPattern::from_coords(2, 2, {{0, 2}}); }, {"(0, 2) outside (2, 2)"});
  CsrPattern bad = p;
  bad.col[1] = 9;
  expect_error([&] { bad.validate("layer"); }, {"layer", "column 9 outside [0, 4)"});
}

TEST(SparseLinearOp, ForwardEqualsMaskedDenseProduct) {
  for (const auto& [rows, cols, density] : std::vector<std::tuple<int64_t, int64_t, double>>{
           {5, 7, 0.3}, {16, 9, 0.05}, {3, 4, 1.0}, {6, 6, 0.0}}) {
    auto p = std::make_shared<const CsrPattern>(random_pattern(rows, cols, density, 11, {1}));
    for (DType dt : {DType::f32, DType::f64}) {
      Rng rng(3);
      const Tensor x = Tensor::rand({4, cols}, rng, -1, 1, dt), v = Tensor::rand({p->nnz()}, rng, -1, 1, dt),
                   b = Tensor::rand({rows}, rng, -1, 1, dt);
      const Tensor y = sparse_linear(x, p, v, b);
      ASSERT_EQ(y.shape(), (Shape{4, rows}));
      test::expect_close(y, dense_reference(x, *p, v, b), dt == DType::f32 ? 1e-5 : 1e-12);
      // Without bias, and through a transposed (non-contiguous) x.
      const Tensor xt = Tensor::rand({cols, 4}, rng, -1, 1, dt).t();
      test::expect_close(sparse_linear(xt, p, v), dense_reference(xt, *p, v, Tensor::zeros({rows}, dt)),
                         dt == DType::f32 ? 1e-5 : 1e-12);
    }
  }
}

TEST(SparseLinearOp, GradientsEqualMaskedDenseGradients) {
  auto p = std::make_shared<const CsrPattern>(random_pattern(8, 6, 0.4, 5, {0, 5}));
  const Tensor x = rand64({3, 6}, 1), v = rand64({p->nnz()}, 2), b = rand64({8}, 3), gy = rand64({3, 8}, 4);
  Tensor xs = x.clone().set_requires_grad(true), vs = v.clone().set_requires_grad(true),
         bs = b.clone().set_requires_grad(true);
  sparse_linear(xs, p, vs, bs).backward(gy);
  Tensor xd = x.clone().set_requires_grad(true), wd = p->to_dense(v).set_requires_grad(true),
         bd = b.clone().set_requires_grad(true);
  linear(xd, wd, bd).backward(gy);
  test::expect_tensors_close(xs.grad(), xd.grad(), 1e-12);
  test::expect_tensors_close(bs.grad(), bd.grad(), 1e-12);
  // The values' gradient is the dense weight gradient read at the live entries.
  const std::vector<double> gw = wd.grad().to_vector<double>();
  const std::vector<int64_t> rows = p->entry_rows();
  std::vector<double> want;
  for (int64_t e = 0; e < p->nnz(); ++e) want.push_back(gw[rows[e] * 6 + p->col[e]]);
  test::expect_close(vs.grad(), want, 1e-12);
}

TEST(SparseLinearOp, Gradcheck) {
  for (const auto& [B, rows, cols, density] : std::vector<std::tuple<int64_t, int64_t, int64_t, double>>{
           {2, 3, 4, 0.5}, {3, 7, 5, 0.2}, {1, 4, 4, 1.0}, {4, 6, 3, 0.6}}) {
    auto p = std::make_shared<const CsrPattern>(random_pattern(rows, cols, density, 9 + B, {rows - 1}));
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return sparse_linear(in[0], p, in[1], in[2]); },
                     {rand64({B, cols}, 1), rand64({p->nnz()}, 2), rand64({rows}, 3)});
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return sparse_linear(in[0].t(), p, in[1]); },
                     {rand64({cols, B}, 4), rand64({p->nnz()}, 5)});
  }
}

// The small case runs on one thread, the large one above the parallel grain (2 threads in ctest).
TEST(SparseKernels, CpuMatchesRef) {
  for (const auto& [rows, cols, density, batch] : std::vector<std::tuple<int64_t, int64_t, double, int64_t>>{
           {37, 29, 0.15, 21}, {200, 150, 0.2, 64}}) {
    const CsrPattern p = random_pattern(rows, cols, density, 21, {3, 4});
    const int64_t B = batch, in = p.cols, out = p.rows, nnz = p.nnz();
    const std::vector<float> x = rand32({B, in}, 1).to_vector<float>(), w = rand32({nnz}, 2).to_vector<float>(),
                             bias = rand32({out}, 3).to_vector<float>(), gy = rand32({B, out}, 4).to_vector<float>();
    std::vector<float> y_cpu(B * out), y_ref(B * out), gx_cpu(B * in), gx_ref(B * in), gw_cpu(nnz), gw_ref(nnz);
    kernels::cpu::csr_linear_forward(x.data(), p.row_ptr.data(), p.col.data(), w.data(), bias.data(), y_cpu.data(), B,
                                     in, out);
    kernels::ref::csr_linear_forward(x.data(), p.row_ptr.data(), p.col.data(), w.data(), bias.data(), y_ref.data(), in,
                                     out, int64_t{0}, B);
    kernels::cpu::csr_linear_backward_x(gy.data(), p.row_ptr.data(), p.col.data(), w.data(), gx_cpu.data(), B, in, out);
    kernels::ref::csr_linear_backward_x(gy.data(), p.row_ptr.data(), p.col.data(), w.data(), gx_ref.data(), in, out,
                                        int64_t{0}, B);
    kernels::cpu::csr_linear_backward_w(x.data(), gy.data(), p.row_ptr.data(), p.col.data(), gw_cpu.data(), B, in, out);
    kernels::ref::csr_linear_backward_w(x.data(), gy.data(), p.row_ptr.data(), p.col.data(), gw_ref.data(), B, in, out,
                                        int64_t{0}, out);
    // The batch-inner cpu:: loops sum grad w in another order: equal to rounding.
    auto expect_near = [](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * std::max(1.0f, std::abs(b[i]))) << what << " " << i;
    };
    expect_near(y_cpu, y_ref, "y");
    expect_near(gx_cpu, gx_ref, "gx");
    expect_near(gw_cpu, gw_ref, "gw");
  }
}

TEST(SparseLinearOp, BadInputsNameOpAndShapes) {
  auto p = std::make_shared<const CsrPattern>(random_pattern(4, 5, 0.5, 1));
  const Tensor v = rand32({p->nnz()}, 1);
  expect_error([&] { sparse_linear(rand32({2, 6}, 2), p, v); }, {"sparse_linear", "in = 5", "float32[2, 6]"});
  expect_error([&] { sparse_linear(rand32({2, 5}, 2), p, rand32({p->nnz() + 1}, 3)); }, {"sparse_linear", "values"});
  expect_error([&] { sparse_linear(rand32({2, 5}, 2), p, v, rand32({3}, 4)); }, {"sparse_linear", "bias", "(4)"});
  expect_error([&] { sparse_linear(rand64({2, 5}, 2), p, v); }, {"sparse_linear"});
  expect_error([&] { sparse_linear(Tensor::zeros({2, 5}, DType::i64), p, v); }, {"sparse_linear"});
  expect_error([&] { sparse_linear(rand32({2, 5}, 2), nullptr, v); }, {"sparse_linear", "no CSR pattern"});
}

TEST(SetTopology, ErdosRenyiDensityAsComputed) {
  EXPECT_DOUBLE_EQ(erdos_renyi_density(784, 1000, 20), 20.0 * 1784 / 784000);
  EXPECT_DOUBLE_EQ(erdos_renyi_density(1000, 10, 20), 1.0);  // capped
  Rng rng(1);
  const CsrPattern p = erdos_renyi_pattern(100, 78, erdos_renyi_density(78, 100, 4), rng);
  p.validate("er");
  EXPECT_EQ(p.nnz(), std::llround(4.0 * 178 / 7800 * 7800));
  EXPECT_EQ(erdos_renyi_pattern(10, 3, 1.0, rng).nnz(), 30);
  EXPECT_EQ(erdos_renyi_pattern(20, 10, 0.9, rng).nnz(), 180);  // the shuffle path
  SparseLinear layer(784, 1000, 20, rng);
  EXPECT_EQ(layer.pattern()->nnz(), std::llround(20.0 * 1784));
  EXPECT_EQ(layer.values().numel(), layer.pattern()->nnz());
  EXPECT_DOUBLE_EQ(layer.initial_overlap(), 1.0);
  expect_error([] { erdos_renyi_density(10, 10, 0); }, {"epsilon must be > 0"});
}

// (row, col) -> value of a layer's live connections.
std::map<std::pair<int64_t, int64_t>, double> live_map(const CsrPattern& p, const Tensor& values) {
  std::map<std::pair<int64_t, int64_t>, double> m;
  const std::vector<double> v = values.to_vector<double>();
  const std::vector<int64_t> rows = p.entry_rows();
  for (int64_t e = 0; e < p.nnz(); ++e) m[{rows[e], p.col[e]}] = v[e];
  return m;
}

TEST(SetEvolve, KeepsCountAndRemovesExactlyTheSmallestMagnitudes) {
  for (uint64_t seed = 8; seed < 14; ++seed) {
    const CsrPattern p = random_pattern(10, 12, 0.3, 2);
    const int64_t nnz = p.nnz();
    // Distinct magnitudes 1/nnz .. 1 in a shuffled order, signs mixed.
    std::vector<float> vals(static_cast<size_t>(nnz));
    for (int64_t e = 0; e < nnz; ++e) vals[e] = static_cast<float>(e + 1) / static_cast<float>(nnz) * (e % 2 ? -1.f : 1.f);
    Rng shuffle(seed);
    for (int64_t i = nnz - 1; i > 0; --i) std::swap(vals[i], vals[shuffle.randint(0, i + 1)]);
    SparseLinear layer(p, Tensor::from_vector(vals, {nnz}));
    const auto before = live_map(*layer.pattern(), layer.values());
    Rng rng(3);
    const EvolutionStats s = layer.evolve(0.25, 0.0, rng);
    const int64_t k = nnz / 4;
    EXPECT_EQ(s.removed, k);
    EXPECT_EQ(s.regrown, k);
    EXPECT_EQ(s.live, nnz);
    EXPECT_EQ(layer.pattern()->nnz(), nnz);
    layer.pattern()->validate("evolved");
    const auto after = live_map(*layer.pattern(), layer.values());
    int64_t kept = 0, fresh = 0;
    for (const auto& [pos, v] : before) {
      const bool small = std::abs(v) <= static_cast<double>(k) / nnz + 1e-7;  // magnitudes 1/nnz .. k/nnz go
      auto it = after.find(pos);
      if (!small) {
        ASSERT_NE(it, after.end()) << "a large weight was removed";
        EXPECT_EQ(it->second, v);
        ++kept;
      }
  }
  for (const auto& [pos, v] : after)
    if (!before.count(pos) || std::abs(before.at(pos)) <= static_cast<double>(k) / nnz + 1e-7) {
      EXPECT_EQ(v, 0.0) << "regrown weights start at exactly 0";
      ++fresh;
    }
  EXPECT_EQ(kept, nnz - k);
  EXPECT_EQ(fresh, k);
  EXPECT_LE(s.changed, k);
  EXPECT_NEAR(s.initial_overlap, static_cast<double>(nnz - k + (k - s.changed)) / nnz, 1e-12);
  expect_error([&] { layer.evolve(1.0, 0.0, rng); }, {"zeta must be in [0, 1)"});
  }
}

TEST(SetEvolve, RemovedWeightsStayAbsentThroughTraining) {
  Rng rng(4);
  SparseLinear layer(12, 9, 2.0, rng);
  const int64_t nnz = layer.pattern()->nnz();
  optim::SGD sgd(layer.named_parameters(), {0.1, 0.9, 1e-3, false});
  const Tensor x = rand32({5, 12}, 6);
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (int step = 0; step < 3; ++step) {
      sum(square(layer.forward(x))).backward();
      sgd.step();
      sgd.zero_grad();
    }
    const CsrPatternPtr old = layer.pattern();
    const EvolutionStats s = layer.evolve(0.3, 0.01, rng, &sgd);
    EXPECT_EQ(layer.pattern()->nnz(), nnz);
    EXPECT_EQ(s.removed, static_cast<int64_t>(0.3 * nnz));
    // The layer computes exactly with the dense matrix that is zero off the pattern.
    NoGradGuard no_grad;
    const Tensor w = layer.pattern()->to_dense(layer.values());
    test::expect_tensors_close(layer.forward(x), linear(x, w, layer.bias()), 1e-5);
    const auto live = live_map(*layer.pattern(), layer.values());
    const std::vector<double> dense = w.to_vector<double>();
    for (int64_t r = 0; r < 9; ++r)
      for (int64_t c = 0; c < 12; ++c)
        if (!live.count({r, c})) EXPECT_EQ(dense[r * 12 + c], 0.0);
  }
}

// The optimizer's per-weight state follows its weight through an evolution step.
template <class Opt>
void expect_state_follows(Opt& opt, SparseLinear& layer, const std::vector<std::string>& slots) {
  const Tensor x = rand32({4, 10}, 8);
  for (int i = 0; i < 2; ++i) {
    sum(square(layer.forward(x))).backward();
    opt.step();
    opt.zero_grad();
  }
  auto state_maps = [&] {
    std::vector<std::map<std::pair<int64_t, int64_t>, double>> maps;
    for (const std::string& slot : slots)
      for (const auto& [name, t] : opt.state_dict())
        if (name == slot + ".values") maps.push_back(live_map(*layer.pattern(), t));
    return maps;
  };
  const auto before = state_maps();
  ASSERT_EQ(before.size(), slots.size());
  const auto weights_before = live_map(*layer.pattern(), layer.values());
  Rng rng(5);
  layer.evolve(0.4, 0.0, rng, &opt);
  const auto after = state_maps();
  const auto weights_after = live_map(*layer.pattern(), layer.values());
  for (size_t s = 0; s < slots.size(); ++s) {
    int64_t zeros = 0;
    for (const auto& [pos, v] : after[s]) {
      const bool kept = weights_before.count(pos) && weights_after.at(pos) == weights_before.at(pos) &&
                        weights_after.at(pos) != 0.0;
      if (kept)
        EXPECT_EQ(v, before[s].at(pos)) << slots[s];
      else {
        EXPECT_EQ(v, 0.0) << slots[s] << ": a regrown weight starts with no state";
        ++zeros;
      }
    }
    EXPECT_EQ(zeros, static_cast<int64_t>(0.4 * layer.pattern()->nnz()));
  }
}

TEST(SetEvolve, SgdMomentumFollowsItsWeight) {
  Rng rng(6);
  SparseLinear layer(10, 8, 2.0, rng);
  optim::SGD sgd(layer.named_parameters(), {0.05, 0.9, 0.0, false});
  expect_state_follows(sgd, layer, {"sgd.momentum_buffer"});
}

TEST(SetEvolve, AdamMomentsFollowTheirWeight) {
  Rng rng(7);
  SparseLinear layer(10, 8, 2.0, rng);
  optim::AdamW adam(layer.named_parameters(), {1e-2, 0.9, 0.999, 1e-8, 0.0});
  expect_state_follows(adam, layer, {"adam.m", "adam.v"});
}

}  // namespace
}  // namespace moe::sparse
