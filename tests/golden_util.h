// golden_util.h: reading the PyTorch fixtures of tests/fixtures (scripts/gen_golden.py).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "moe/io/atomic_file.h"
#include "moe/optim/adam.h"
#include "test_util.h"

namespace moe::test {

inline nlohmann::json load_fixture(const std::string& name) {
  return nlohmann::json::parse(io::read_file(std::string(MOE_SOURCE_DIR) + "/tests/fixtures/" + name));
}

// {"shape": [...], "data": [...]} -> a tensor of `dtype`.
inline Tensor fixture_tensor(const nlohmann::json& j, DType dtype) {
  Shape shape = j.at("shape").get<Shape>();
  std::vector<double> data = j.at("data").get<std::vector<double>>();
  return Tensor::from_vector(data, shape).to(dtype);
}

inline std::vector<double> fixture_values(const nlohmann::json& j) { return j.at("data").get<std::vector<double>>(); }

// Copies every fixture parameter into the module's parameter of the same name, and
// checks that the module has exactly those parameters.
template <class M>
void load_fixture_params(M& module, const nlohmann::json& params) {
  auto named = module.named_parameters();
  ASSERT_EQ(named.size(), params.size()) << "parameter count differs from the PyTorch model";
  for (auto& [name, t] : named) {
    ASSERT_TRUE(params.contains(name)) << "PyTorch model has no parameter " << name;
    Tensor v = fixture_tensor(params[name], t.dtype());
    ASSERT_EQ(v.shape(), t.shape()) << name;
    t.copy_(v);
  }
}

// The golden checks after the parameters are loaded: `logits_fn()` runs the model on
// the fixture's batch and `loss_fn(logits)` is its loss. Compares the logits, the loss,
// every parameter's gradient at step 0, and the loss before each of the AdamW steps.
template <class M, class LogitsFn, class LossFn>
void expect_golden_training(M& model, const nlohmann::json& fx, LogitsFn logits_fn, LossFn loss_fn, double tol) {
  Tensor logits = logits_fn();
  expect_close(logits, fixture_values(fx["logits"]), tol);
  Tensor loss = loss_fn(logits);
  EXPECT_NEAR(loss.item(), fx["loss"].get<double>(), tol);
  loss.backward();
  for (auto& [name, p] : model.named_parameters()) {
    SCOPED_TRACE(name);
    expect_close(p.grad(), fixture_values(fx["grads"][name]), tol);
  }
  const auto& h = fx["adamw"];
  optim::AdamW opt(model.named_parameters(), {.lr = h["lr"], .beta1 = h["beta1"], .beta2 = h["beta2"],
                                              .eps = h["eps"], .weight_decay = h["weight_decay"]});
  std::vector<double> want = fx["adamw_losses"].get<std::vector<double>>();
  for (size_t step = 0; step < want.size(); ++step) {
    opt.zero_grad();
    Tensor l = loss_fn(logits_fn());
    EXPECT_NEAR(l.item(), want[step], tol) << "AdamW step " << step;
    l.backward();
    opt.step();
  }
}

}  // namespace moe::test
