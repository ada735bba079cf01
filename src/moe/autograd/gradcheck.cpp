#include "moe/autograd/gradcheck.h"

#include <cmath>

#include "moe/autograd/autograd.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/reduce.h"

namespace moe {

namespace {

std::vector<Tensor> prepare(const std::vector<Tensor>& inputs, const std::vector<bool>& check) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined() || !is_floating(t.dtype())) {
      xs.push_back(t);
      continue;
    }
    Tensor x = t.detach().to(DType::f64).clone().detach();  // a fresh leaf we may perturb
    if (check.empty() || check[i]) x.set_requires_grad(true);
    xs.push_back(x);
  }
  return xs;
}

// sum(f(xs) * w) without recording.
double projected(const GradcheckFn& f, const std::vector<Tensor>& xs, const Tensor& w) {
  NoGradGuard no_grad;
  return sum(mul(f(xs), w)).item();
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, double eps, double atol,
                          double rtol, std::vector<bool> check) {
  std::vector<Tensor> xs = prepare(inputs, check);
  Tensor y = f(xs);
  MOE_CHECK(y.dtype() == DType::f64, "gradcheck: the function must return float64, got {}", y.str());
  Rng rng(1234);
  Tensor w = Tensor::randn(y.shape(), rng, 1.0, DType::f64);
  Tensor loss = sum(mul(y, w));
  loss.backward();

  GradcheckResult res;
  for (size_t i = 0; i < xs.size(); ++i) {
    Tensor x = xs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor grad = x.grad();
    double* p = x.data<double>();
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double orig = p[j];
      p[j] = orig + eps;
      const double up = projected(f, xs, w);
      p[j] = orig - eps;
      const double down = projected(f, xs, w);
      p[j] = orig;
      const double numeric = (up - down) / (2 * eps);
      const double analytic = grad.defined() ? grad.data<double>()[j] : 0.0;
      const double err = std::abs(analytic - numeric);
      const bool bad = !(err <= atol + rtol * std::abs(numeric));  // NaN fails
      if (bad || err > res.max_abs_err) {
        if (bad && res.ok) {
          res.detail = fmt::format("input {} element {}: analytic {:.10g} numeric {:.10g}", i, j, analytic, numeric);
        }
        if (err > res.max_abs_err || std::isnan(err)) res.max_abs_err = err;
        if (bad) res.ok = false;
      }
    }
  }
  return res;
}

GradcheckResult directional_gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, double eps,
                                      double rtol, uint64_t seed) {
  std::vector<Tensor> xs = prepare(inputs, {});
  Tensor y = f(xs);
  MOE_CHECK(y.dtype() == DType::f64, "directional_gradcheck: the function must return float64, got {}", y.str());
  Rng rng(seed);
  Tensor w = Tensor::randn(y.shape(), rng, 1.0, DType::f64);
  sum(mul(y, w)).backward();
  std::vector<Tensor> dirs(xs.size());
  double analytic = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!xs[i].defined() || !xs[i].requires_grad()) continue;
    dirs[i] = Tensor::randn(xs[i].shape(), rng, 1.0, DType::f64);
    if (xs[i].grad().defined()) analytic += sum(mul(xs[i].grad(), dirs[i])).item();
  }
  auto shifted = [&](double step) {
    std::vector<Tensor> moved = xs;
    for (size_t i = 0; i < xs.size(); ++i)
      if (dirs[i].defined()) moved[i] = add(xs[i].detach(), mul(dirs[i], step));
    return projected(f, moved, w);
  };
  const double numeric = (shifted(eps) - shifted(-eps)) / (2 * eps);
  GradcheckResult res;
  res.max_abs_err = std::abs(analytic - numeric);
  res.ok = res.max_abs_err <= rtol * std::max(1.0, std::abs(numeric));
  res.detail = fmt::format("directional derivative: analytic {:.12g} numeric {:.12g}", analytic, numeric);
  return res;
}

}  // namespace moe
