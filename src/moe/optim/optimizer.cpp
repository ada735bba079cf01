// optim/optimizer.cpp: the Optimizer base: parameter checks, step() dispatch, state I/O.
#include "moe/optim/optimizer.h"

#include "moe/ops/to_device.h"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "moe/autograd/autograd.h"

namespace moe::optim {

Optimizer::Optimizer(NamedTensors params, double lr, const char* kind)
    : params_(std::move(params)), lr_(lr), kind_(kind) {
  set_lr(lr);
  std::unordered_set<std::string> names;
  for (const auto& [name, p] : params_) {
    MOE_CHECK(p.defined(), "{}: parameter '{}' is undefined", kind_, name);
    MOE_CHECK(is_floating(p.dtype()), "{}: parameter '{}' must be floating, got {}", kind_, name, p.str());
    MOE_CHECK(p.is_contiguous(), "{}: parameter '{}' ({}) must be contiguous to be updated in place", kind_,
              name, p.str());
    MOE_CHECK(names.insert(name).second, "{}: parameter name '{}' appears twice", kind_, name);
  }
}

void Optimizer::set_lr(double lr) {
  MOE_CHECK(lr >= 0.0 && std::isfinite(lr), "{}: learning rate must be finite and >= 0, got {}", kind_, lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) p.zero_grad();
}

void Optimizer::step() {
  NoGradGuard no_grad;
  last_step_elements_ = 0;
  try {
    for (size_t i = 0; i < params_.size(); ++i) {
      const auto& [name, p] = params_[i];
      Tensor g = p.grad();
      if (!g.defined()) continue;
      MOE_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype(),
                "{}.step: gradient {} of parameter '{}' does not match {}", kind_, g.str(), name, p.str());
      update(i, p, g.contiguous());
    }
  } catch (...) {
    finish_step();  // the parameters before the bad one are updated, as without queueing
    throw;
  }
  finish_step();
}

Tensor Optimizer::add_state(const std::string& name, const Shape& shape, DType dtype, Device device) {
  Tensor t = zeros_on(shape, dtype, device);
  state_.emplace_back(name, t);
  return t;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  std::unordered_map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state) {
    MOE_CHECK(given.emplace(name, &t).second, "{}.load_state_dict: tensor '{}' appears twice", kind_, name);
  }
  // Check everything before copying anything: a failed load leaves the state untouched.
  for (const auto& [name, mine] : state_) {
    auto it = given.find(name);
    MOE_CHECK(it != given.end(), "{}.load_state_dict: missing tensor '{}' ({})", kind_, name, mine.str());
    const Tensor& t = *it->second;
    MOE_CHECK(t.defined() && t.shape() == mine.shape() && t.dtype() == mine.dtype(),
              "{}.load_state_dict: tensor '{}' is {}, expected {}", kind_, name, t.str(), mine.str());
  }
  if (given.size() != state_.size()) {
    std::unordered_set<std::string> mine;
    for (const auto& [name, t] : state_) mine.insert(name);
    for (const auto& [name, t] : state)
      MOE_CHECK(mine.count(name), "{}.load_state_dict: unexpected tensor '{}' ({})", kind_, name, t.str());
  }
  NoGradGuard no_grad;
  for (auto& [name, mine] : state_) mine.copy_(given.at(name)->detach());
  state_loaded();
}

}  // namespace moe::optim
