// Optimizers (SGD, Adam, AdamW) against updates computed by hand, state save/restore,
// gradient clipping, the finiteness check, learning-rate schedules, and the cpu::
// optimizer kernels against ref::.
#include <cmath>
#include <limits>
#include <numbers>

#include "moe/kernels/kernels.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;
using optim::NamedTensors;

namespace {

// Runs `fn`, expecting a moe::Error whose message contains every one of `parts`.
template <class F>
void expect_error_mentions(F&& fn, std::initializer_list<const char*> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected moe::Error";
  } catch (const Error& e) {
    for (const char* part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

Tensor make_tensor(const std::vector<double>& values, DType dtype) {
  Tensor t = Tensor::from_vector(values, {static_cast<int64_t>(values.size())});
  return dtype == DType::f64 ? t : t.to(dtype);
}

Tensor make_param(const std::vector<double>& values, DType dtype) {
  return make_tensor(values, dtype).set_requires_grad(true);
}

// Hand-computed reference updates, plain loops over doubles (formulas of sgd.h / adam.h).
struct SgdRef {
  double lr, momentum, weight_decay;
  bool nesterov;
  std::vector<double> buf;
  void step(std::vector<double>& p, const std::vector<double>& g) {
    buf.resize(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      double d = g[i] + weight_decay * p[i];
      if (momentum != 0.0) {
        buf[i] = momentum * buf[i] + d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
  }
};

struct AdamRef {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;
  std::vector<double> m, v;
  int t = 0;
  void step(std::vector<double>& p, const std::vector<double>& g) {
    m.resize(p.size(), 0.0);
    v.resize(p.size(), 0.0);
    ++t;
    for (size_t i = 0; i < p.size(); ++i) {
      double gi = g[i];
      if (decoupled) p[i] -= lr * weight_decay * p[i];
      else gi += weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * gi;
      v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
      const double m_hat = m[i] / (1 - std::pow(beta1, t)), v_hat = v[i] / (1 - std::pow(beta2, t));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

const std::vector<double> kP0 = {0.5, -1.25, 2.0, 0.0, -0.3};
const std::vector<std::vector<double>> kGrads = {
    {0.1, -0.2, 0.3, -0.4, 0.5},
    {-0.3, 0.05, 0.2, 0.7, -0.1},
    {0.25, 0.25, -0.6, 0.0, 0.9},
    {1e-3, -2.0, 0.4, 0.3, 0.0}};

double tol_for(DType dtype) { return dtype == DType::f64 ? 1e-12 : 2e-6; }

// Runs the optimizer over kGrads (set as .grad before each step) and checks the
// parameter after every step against `ref`.
template <class Ref>
void expect_matches_reference(optim::Optimizer& opt, Tensor p, Ref ref, DType dtype) {
  std::vector<double> want = kP0;
  for (size_t s = 0; s < kGrads.size(); ++s) {
    p.set_grad(make_tensor(kGrads[s], dtype));
    opt.step();
    ref.step(want, kGrads[s]);
    SCOPED_TRACE("step " + std::to_string(s + 1));
    expect_close(p, want, tol_for(dtype));
  }
}

class OptimDtype : public ::testing::TestWithParam<DType> {};

}  // namespace

TEST_P(OptimDtype, SgdPlainOneStep) {
  Tensor p = make_param(kP0, GetParam());
  optim::SGD opt({{"w", p}}, {.lr = 0.1});
  p.set_grad(make_tensor(kGrads[0], GetParam()));
  opt.step();
  expect_close(p, {0.5 - 0.01, -1.25 + 0.02, 2.0 - 0.03, 0.04, -0.3 - 0.05}, tol_for(GetParam()));
  EXPECT_TRUE(opt.state_dict().empty());  // no momentum, no state
}

TEST_P(OptimDtype, SgdMomentumSeveralSteps) {
  for (bool nesterov : {false, true}) {
    SCOPED_TRACE(nesterov ? "nesterov" : "heavy ball");
    Tensor p = make_param(kP0, GetParam());
    optim::SGD opt({{"w", p}}, {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = nesterov});
    expect_matches_reference(opt, p, SgdRef{0.05, 0.9, 0.01, nesterov, {}}, GetParam());
  }
}

TEST_P(OptimDtype, AdamSeveralSteps) {
  Tensor p = make_param(kP0, GetParam());
  optim::Adam opt({{"w", p}}, {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1});
  expect_matches_reference(opt, p, AdamRef{0.01, 0.8, 0.95, 1e-8, 0.1, false, {}, {}}, GetParam());
  EXPECT_EQ(opt.param_step(0), static_cast<int64_t>(kGrads.size()));
}

TEST_P(OptimDtype, AdamWSeveralSteps) {
  Tensor p = make_param(kP0, GetParam());
  optim::AdamW opt({{"w", p}}, {.lr = 0.02, .weight_decay = 0.1});
  expect_matches_reference(opt, p, AdamRef{0.02, 0.9, 0.999, 1e-8, 0.1, true, {}, {}}, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, OptimDtype, ::testing::Values(DType::f32, DType::f64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Optim, AdamWFirstStepIsSignStep) {
  // After bias correction m_hat / sqrt(v_hat) = g / |g| on step 1: each element moves by
  // lr (up to eps) against its gradient's sign, after the decoupled decay.
  Tensor p = make_param({1.0, -2.0}, DType::f64);
  optim::AdamW opt({{"w", p}}, {.lr = 0.1, .eps = 0.0, .weight_decay = 0.5});
  p.set_grad(make_tensor({3.0, -1e-3}, DType::f64));
  opt.step();
  expect_close(p, {1.0 * 0.95 - 0.1, -2.0 * 0.95 + 0.1}, 1e-12);
}

TEST(Optim, ParametersWithoutGradientAreSkipped) {
  Tensor a = make_param({1.0, 2.0}, DType::f64), b = make_param({3.0}, DType::f64);
  optim::AdamW opt({{"a", a}, {"b", b}}, {.lr = 0.1, .weight_decay = 0.1});
  a.set_grad(make_tensor({0.5, -0.5}, DType::f64));
  opt.step();  // b has no gradient: untouched, not decayed, its step count stays 0
  expect_close(b, {3.0}, 0);
  EXPECT_EQ(opt.param_step(0), 1);
  EXPECT_EQ(opt.param_step(1), 0);
  // b's first update uses its own t = 1 (bias correction as on a first step).
  b.set_grad(make_tensor({2.0}, DType::f64));
  opt.step();
  AdamRef ref{0.1, 0.9, 0.999, 1e-8, 0.1, true, {}, {}};
  std::vector<double> want_b = {3.0};
  ref.step(want_b, {2.0});
  expect_close(b, want_b, 1e-12);
  EXPECT_EQ(opt.param_step(0), 2);
  EXPECT_EQ(opt.param_step(1), 1);
}

TEST(Optim, ZeroGradDropsGradients) {
  Tensor p = make_param({1.0}, DType::f32);
  optim::SGD opt({{"w", p}}, {.lr = 0.1});
  p.set_grad(make_tensor({1.0}, DType::f32));
  opt.zero_grad();
  EXPECT_FALSE(p.grad().defined());
  opt.step();
  expect_close(p, {1.0}, 0);
}

TEST(Optim, TrainsThroughAutograd) {
  // Least squares through backward(): SGD with momentum reaches the target.
  Tensor w = Tensor::zeros({4}).set_requires_grad(true);
  Tensor target = Tensor::from_list({1.0f, -2.0f, 0.5f, 3.0f}, {4});
  optim::SGD opt({{"w", w}}, {.lr = 0.05, .momentum = 0.9});
  for (int i = 0; i < 300; ++i) {
    opt.zero_grad();
    sum(square(sub(w, target))).backward();
    opt.step();
  }
  expect_tensors_close(w, target, 1e-4);
}

TEST(Optim, StateDictRoundTripGivesIdenticalSteps) {
  for (const char* kind : {"SGD", "AdamW"}) {
    SCOPED_TRACE(kind);
    auto make = [&](const NamedTensors& params) -> std::unique_ptr<optim::Optimizer> {
      if (std::string(kind) == "SGD")
        return std::make_unique<optim::SGD>(params, optim::SgdOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true});
      return std::make_unique<optim::AdamW>(params, optim::AdamOptions{.lr = 0.01, .weight_decay = 0.1});
    };
    Tensor a = make_param(kP0, DType::f32), b = make_param({0.1, 0.2}, DType::f32);
    auto opt = make({{"layer.weight", a}, {"layer.bias", b}});
    for (int s = 0; s < 2; ++s) {
      a.set_grad(make_tensor(kGrads[s], DType::f32));
      b.set_grad(make_tensor({0.3, -0.1 * s}, DType::f32));
      opt->step();
    }
    // Snapshot as a checkpoint would: parameters and optimizer state.
    NamedTensors saved;
    for (const auto& [name, t] : opt->state_dict()) saved.emplace_back(name, t.clone());
    Tensor a2 = a.clone().detach().set_requires_grad(true), b2 = b.clone().detach().set_requires_grad(true);
    auto resumed = make({{"layer.weight", a2}, {"layer.bias", b2}});
    resumed->load_state_dict(saved);
    for (int s = 2; s < 4; ++s) {
      for (auto [p, q] : {std::pair{a, a2}, std::pair{b, b2}}) {
        Tensor g = p.same(a) ? make_tensor(kGrads[s], DType::f32) : make_tensor({-0.2, 0.4}, DType::f32);
        p.set_grad(g);
        q.set_grad(g.clone());
      }
      opt->step();
      resumed->step();
    }
    EXPECT_EQ(a.to_vector<float>(), a2.to_vector<float>());  // bit for bit
    EXPECT_EQ(b.to_vector<float>(), b2.to_vector<float>());
  }
}

// Adam's skipping of rows that never had a gradient (optim/adam.h) changes nothing:
// a table trained through embedding() (gradients carrying nonzero_rows) ends bit for bit
// where the dense update takes it (the same gradients with the row list removed), over
// steps where the used rows change, for both dtypes and across a state reload; and the
// update touched only the live rows.
TEST(Optim, AdamSkipsNeverUsedEmbeddingRowsExactly) {
  for (DType dt : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(dt));
    Rng rng(3);
    const Tensor init = Tensor::randn({50, 8}, rng, 1.0, dt);
    Tensor sparse = init.clone().set_requires_grad(true), dense = init.clone().set_requires_grad(true);
    auto opt_s = std::make_unique<optim::Adam>(NamedTensors{{"table", sparse}}, optim::AdamOptions{.lr = 0.05});
    optim::Adam opt_d({{"table", dense}}, {.lr = 0.05});
    const std::vector<std::vector<int64_t>> batches = {{3, 7, 7}, {3, 9}, {40}, {0, 49, 3}, {12, 13, 14}, {7}};
    int64_t live = 0;
    std::vector<char> seen(50, 0);
    for (size_t s = 0; s < batches.size(); ++s) {
      const Tensor ids = Tensor::from_vector(batches[s], {static_cast<int64_t>(batches[s].size())});
      for (int64_t r : batches[s]) live += seen[static_cast<size_t>(r)] ? 0 : (seen[static_cast<size_t>(r)] = 1);
      opt_s->zero_grad();
      opt_d.zero_grad();
      sum(square(embedding(sparse, ids))).backward();
      sum(square(embedding(dense, ids))).backward();
      ASSERT_TRUE(sparse.grad().impl()->nonzero_rows);
      dense.grad().impl()->nonzero_rows.reset();
      opt_s->step();
      opt_d.step();
      EXPECT_EQ(opt_s->last_step_elements(), live * 8) << "step " << s;  // live rows survive the reload
      EXPECT_EQ(opt_d.last_step_elements(), 50 * 8);
      if (s == 2) {  // reload the state mid-way: the live rows come back from the moments
        NamedTensors saved;
        for (const auto& [name, t] : opt_s->state_dict()) saved.emplace_back(name, t.clone());
        opt_s = std::make_unique<optim::Adam>(NamedTensors{{"table", sparse}}, optim::AdamOptions{.lr = 0.05});
        opt_s->load_state_dict(saved);
      }
    }
    EXPECT_EQ(sparse.detach().to(DType::f64).to_vector<double>(), dense.detach().to(DType::f64).to_vector<double>())
        << "the live-row update differs from the dense one";
  }
}

TEST(Optim, AdamWithWeightDecayUpdatesEveryRow) {
  // With weight decay an unused row moves too, so nothing may be skipped.
  Rng rng(4);
  Tensor table = Tensor::randn({20, 4}, rng).set_requires_grad(true);
  const Tensor before = table.clone();
  optim::AdamW opt({{"table", table}}, {.lr = 0.1, .weight_decay = 0.5});
  sum(embedding(table, Tensor::from_vector(std::vector<int64_t>{2}, {1}))).backward();
  opt.step();
  EXPECT_EQ(opt.last_step_elements(), 20 * 4);
  EXPECT_NE(table.detach().select(0, 5).to_vector<float>(), before.select(0, 5).to_vector<float>());
}

TEST(Optim, StateNames) {
  Tensor a = make_param({1.0, 2.0}, DType::f32);
  optim::AdamW adam({{"blocks.0.w", a}}, {});
  std::vector<std::string> names;
  for (const auto& [name, t] : adam.state_dict()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"adam.m.blocks.0.w", "adam.v.blocks.0.w", "adam.step.blocks.0.w"}));
  EXPECT_EQ(adam.state_dict()[2].second.dtype(), DType::i64);
  optim::SGD sgd({{"blocks.0.w", a}}, {.momentum = 0.5});
  ASSERT_EQ(sgd.state_dict().size(), 1u);
  EXPECT_EQ(sgd.state_dict()[0].first, "sgd.momentum_buffer.blocks.0.w");
}

TEST(Optim, LoadStateDictErrorsNameTheTensor) {
  Tensor a = make_param({1.0, 2.0}, DType::f32);
  optim::Adam opt({{"w", a}}, {});
  NamedTensors good;
  for (const auto& [name, t] : opt.state_dict()) good.emplace_back(name, t.clone());
  NamedTensors missing(good.begin() + 1, good.end());
  expect_error_mentions([&] { opt.load_state_dict(missing); }, {"missing", "adam.m.w"});
  NamedTensors wrong_shape = good;
  wrong_shape[1].second = Tensor::zeros({3});
  expect_error_mentions([&] { opt.load_state_dict(wrong_shape); }, {"adam.v.w", "float32[3]", "float32[2]"});
  NamedTensors wrong_dtype = good;
  wrong_dtype[0].second = Tensor::zeros({2}, DType::f64);
  expect_error_mentions([&] { opt.load_state_dict(wrong_dtype); }, {"adam.m.w", "float64[2]"});
  NamedTensors extra = good;
  extra.emplace_back("adam.m.other", Tensor::zeros({2}));
  expect_error_mentions([&] { opt.load_state_dict(extra); }, {"unexpected", "adam.m.other"});
  // A failed load changes nothing; a good one restores the values.
  *good[2].second.data<int64_t>() = 7;
  opt.load_state_dict(good);
  EXPECT_EQ(opt.param_step(0), 7);
}

TEST(Optim, BadConstructionAndStepThrow) {
  Tensor a = make_param({1.0, 2.0, 3.0, 4.0}, DType::f32);
  expect_error_mentions([&] { optim::SGD({{"w", a}, {"w", a}}, {}); }, {"'w'", "twice"});
  Tensor t = a.detach().reshape({2, 2}).t();
  expect_error_mentions([&] { optim::SGD({{"wt", t}}, {}); }, {"'wt'", "contiguous"});
  expect_error_mentions([&] { optim::SGD({{"idx", Tensor::zeros({2}, DType::i64)}}, {}); }, {"'idx'", "int64"});
  EXPECT_THROW(optim::SGD({{"w", a}}, {.lr = -1.0}), Error);
  EXPECT_THROW(optim::SGD({{"w", a}}, {.nesterov = true}), Error);
  EXPECT_THROW(optim::AdamW({{"w", a}}, {.beta1 = 1.0}), Error);
  optim::AdamW opt({{"w", a}}, {});
  a.set_grad(Tensor::zeros({3}));
  expect_error_mentions([&] { opt.step(); }, {"AdamW", "'w'", "float32[3]"});
}

TEST(Clip, GlobalNormScalesAllGradients) {
  for (DType dtype : {DType::f32, DType::f64}) {
    Tensor a = make_param({0, 0}, dtype), b = make_param({0, 0}, dtype), c = make_param({1}, dtype);
    a.set_grad(make_tensor({3.0, 4.0}, dtype));
    b.set_grad(make_tensor({0.0, -12.0}, dtype));  // total norm sqrt(9 + 16 + 144) = 13
    NamedTensors params{{"a", a}, {"b", b}, {"c", c}};  // c has no gradient
    const double norm = optim::clip_grad_norm(params, 6.5);
    EXPECT_NEAR(norm, 13.0, 1e-6);
    const double scale = 6.5 / (13.0 + 1e-6);
    expect_close(a.grad(), {3.0 * scale, 4.0 * scale}, tol_for(dtype));
    expect_close(b.grad(), {0.0, -12.0 * scale}, tol_for(dtype));
    EXPECT_NEAR(optim::grad_norm(params), 6.5, 1e-5);
    // Under the limit: returned, nothing scaled.
    EXPECT_NEAR(optim::clip_grad_norm(params, 100.0), 6.5, 1e-5);
    expect_close(a.grad(), {3.0 * scale, 4.0 * scale}, tol_for(dtype));
  }
}

TEST(Clip, NonFiniteNormLeavesGradientsAlone) {
  Tensor a = make_param({0, 0}, DType::f32);
  a.set_grad(make_tensor({1.0, INFINITY}, DType::f32));
  EXPECT_TRUE(std::isinf(optim::clip_grad_norm({{"a", a}}, 1.0)));
  EXPECT_EQ(a.grad().to_vector<float>()[0], 1.0f);
  EXPECT_THROW(optim::clip_grad_norm({{"a", a}}, 0.0), Error);
}

TEST(Clip, FirstNonfiniteGradNamesTheParameter) {
  Tensor a = make_param({0, 0}, DType::f32), b = make_param({0, 0, 0}, DType::f64), c = make_param({0}, DType::f32);
  NamedTensors params{{"a", a}, {"skipped", c}, {"b", b}, {"c", c}};
  EXPECT_EQ(optim::first_nonfinite_grad(params), std::nullopt);  // no gradients at all
  a.set_grad(make_tensor({1.0, 2.0}, DType::f32));
  b.set_grad(make_tensor({0.0, NAN, 1.0}, DType::f64));
  EXPECT_EQ(optim::first_nonfinite_grad(params), std::optional<std::string>("b"));
  a.set_grad(make_tensor({-INFINITY, 2.0}, DType::f32));
  EXPECT_EQ(optim::first_nonfinite_grad(params), std::optional<std::string>("a"));
  a.set_grad(make_tensor({1.0, 2.0}, DType::f32));
  b.set_grad(make_tensor({0.0, 1e308, 1.0}, DType::f64));  // huge is still finite
  EXPECT_EQ(optim::first_nonfinite_grad(params), std::nullopt);
}

TEST(Clip, CheckFiniteAndClipNamesTheBadGradientOrClips) {
  Tensor a = make_param({1.0, 2.0}, DType::f32), b = make_param({0.5}, DType::f32);
  NamedTensors params{{"a", a}, {"b", b}};
  a.set_grad(make_tensor({3.0, 4.0}, DType::f32));
  b.set_grad(make_tensor({std::nan("")}, DType::f32));
  EXPECT_EQ(optim::check_finite_and_clip(params, 1.0), std::optional<std::string>("b"));
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{3.0f, 4.0f}));  // untouched
  b.set_grad(make_tensor({std::numeric_limits<double>::infinity()}, DType::f32));
  EXPECT_EQ(optim::check_finite_and_clip(params, 0.0), std::optional<std::string>("b"));
  b.set_grad(make_tensor({0.0}, DType::f32));
  EXPECT_EQ(optim::check_finite_and_clip(params, 0.0), std::nullopt);  // no clipping asked
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_EQ(optim::check_finite_and_clip(params, 1.0), std::nullopt);  // norm 5 -> 1
  expect_tensors_close(a.grad(), Tensor::from_list({0.6f, 0.8f}, {2}), 1e-6);
}

TEST(Schedule, WarmupCosineAtChosenSteps) {
  const double max_lr = 1e-3, min_lr = 1e-4;
  auto s = optim::LrSchedule::warmup_cosine(max_lr, min_lr, 10, 110);
  EXPECT_DOUBLE_EQ(s.lr(0), 1e-4);   // max_lr * 1 / 10
  EXPECT_DOUBLE_EQ(s.lr(4), 5e-4);
  EXPECT_DOUBLE_EQ(s.lr(9), 1e-3);   // warmup ends at max_lr
  EXPECT_DOUBLE_EQ(s.lr(10), 1e-3);  // cos(0)
  EXPECT_DOUBLE_EQ(s.lr(35), min_lr + (max_lr - min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * 0.25)));
  EXPECT_NEAR(s.lr(60), 5.5e-4, 1e-15);  // halfway: the mean of max and min
  EXPECT_NEAR(s.lr(109), min_lr + (max_lr - min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * 0.99)), 1e-15);
  EXPECT_DOUBLE_EQ(s.lr(110), min_lr);
  EXPECT_DOUBLE_EQ(s.lr(100000), min_lr);
  for (int64_t step = 10; step < 110; ++step) EXPECT_LE(s.lr(step + 1), s.lr(step));  // monotone decay

  auto no_warmup = optim::LrSchedule::warmup_cosine(1.0, 0.0, 0, 4);
  EXPECT_DOUBLE_EQ(no_warmup.lr(0), 1.0);
  EXPECT_NEAR(no_warmup.lr(2), 0.5, 1e-15);
  auto c = optim::LrSchedule::constant(0.3);
  EXPECT_DOUBLE_EQ(c.lr(0), 0.3);
  EXPECT_DOUBLE_EQ(c.lr(12345), 0.3);
  EXPECT_EQ(c.describe(), "constant(lr=0.3)");
  EXPECT_THROW(optim::LrSchedule::warmup_cosine(1e-3, 1e-2, 0, 10), Error);  // min > max
  EXPECT_THROW(optim::LrSchedule::warmup_cosine(1e-3, 0, 20, 10), Error);    // warmup > total
  EXPECT_THROW(s.lr(-1), Error);
}

TEST(OptimKernels, CpuMatchesRef) {
  // Long enough to run in parallel blocks; cpu:: runs ref::'s loop per chunk, so the
  // updates agree bit for bit; the norm's blocked sum agrees to rounding.
  const int64_t n = 200003;
  std::vector<float> p = rand32({n}, 1).to_vector<float>(), g = rand32({n}, 2).to_vector<float>();
  std::vector<float> m = rand32({n}, 3, -0.1, 0.1).to_vector<float>(), v = rand32({n}, 4, 0, 0.01).to_vector<float>();
  kernels::AdamHyper h;
  h.lr = 1e-3, h.beta1 = 0.9, h.beta2 = 0.99, h.eps = 1e-8, h.weight_decay = 0.1, h.decoupled_weight_decay = true;
  h.step = 5;
  auto p2 = p, m2 = m, v2 = v;
  kernels::cpu::adam_update(p.data(), g.data(), m.data(), v.data(), n, h);
  kernels::ref::adam_update(p2.data(), g.data(), m2.data(), v2.data(), n, h);
  EXPECT_EQ(p, p2);
  EXPECT_EQ(m, m2);
  EXPECT_EQ(v, v2);

  // The row form (rows of 61, enough of them to run in parallel): the same bits as the
  // whole-array update on those rows, the other rows untouched.
  const std::vector<int64_t> rows = [] {
    std::vector<int64_t> r;
    for (int64_t i = 1; i < 3000; i += 2) r.push_back(i);
    return r;
  }();
  h.step = 6;
  // ... as one row segment of a multi-parameter step (cpu::adam_update_segments)
  const kernels::cpu::AdamSegment row_segment{p.data(), g.data(), m.data(), v.data(),
                                              static_cast<int64_t>(rows.size()) * 61, h, rows.data(), 61};
  kernels::cpu::adam_update_segments(&row_segment, 1);
  // Several segments in one call (each thread takes a share of each): a dense piece with
  // its own step count, a row segment, a 7-element piece: the same bits as ref::, one by one.
  {
    auto pa = p, ma = m, va = v, pb = p, mb = m, vb = v;
    kernels::AdamHyper h2 = h;
    h2.step = 2;
    const std::vector<int64_t> few_rows = {0, 40, 41, 900};
    const std::vector<kernels::cpu::AdamSegment> segs = {
        {pa.data() + 100000, g.data() + 100000, ma.data() + 100000, va.data() + 100000, 50001, h2},
        {pa.data(), g.data(), ma.data(), va.data(), 4 * 61, h, few_rows.data(), 61},
        {pa.data() + 199990, g.data() + 199990, ma.data() + 199990, va.data() + 199990, 7, h}};
    kernels::cpu::adam_update_segments(segs.data(), static_cast<int64_t>(segs.size()));
    kernels::ref::adam_update(pb.data() + 100000, g.data() + 100000, mb.data() + 100000, vb.data() + 100000, 50001, h2);
    kernels::ref::adam_update_rows(pb.data(), g.data(), mb.data(), vb.data(), 61, few_rows.data(), 4, h);
    kernels::ref::adam_update(pb.data() + 199990, g.data() + 199990, mb.data() + 199990, vb.data() + 199990, 7, h);
    EXPECT_EQ(pa, pb);
    EXPECT_EQ(ma, mb);
    EXPECT_EQ(va, vb);
  }
  kernels::ref::adam_update_rows(p2.data(), g.data(), m2.data(), v2.data(), 61, rows.data(), static_cast<int64_t>(rows.size()), h);
  EXPECT_EQ(p, p2);
  EXPECT_EQ(m, m2);
  EXPECT_EQ(v, v2);
  {
    auto p3 = p, m3 = m, v3 = v, p4 = p, m4 = m, v4 = v;
    kernels::ref::adam_update(p3.data() + 61, g.data() + 61, m3.data() + 61, v3.data() + 61, 61, h);
    kernels::ref::adam_update_rows(p4.data(), g.data(), m4.data(), v4.data(), 61, rows.data(), 1, h);
    EXPECT_EQ(p3, p4);  // row 1 updated as the whole-array kernel does, nothing else touched
    EXPECT_EQ(m3, m4);
  }

  kernels::SgdHyper s;
  s.lr = 0.1, s.momentum = 0.9, s.weight_decay = 1e-2, s.nesterov = true;
  kernels::cpu::sgd_update(p.data(), g.data(), m.data(), n, s);
  kernels::ref::sgd_update(p2.data(), g.data(), m2.data(), n, s);
  EXPECT_EQ(p, p2);
  EXPECT_EQ(m, m2);

  const double ss_ref = kernels::ref::sum_squares(g.data(), n);
  EXPECT_NEAR(kernels::cpu::sum_squares(g.data(), n), ss_ref, 1e-12 * ss_ref);
  kernels::cpu::scale_inplace(p.data(), n, 0.5f);
  kernels::ref::scale_inplace(p2.data(), n, 0.5f);
  EXPECT_EQ(p, p2);
  EXPECT_TRUE(kernels::cpu::all_finite(g.data(), n));
  g[n - 2] = std::nanf("");
  EXPECT_FALSE(kernels::cpu::all_finite(g.data(), n));
  EXPECT_FALSE(kernels::ref::all_finite(g.data(), n));
}
