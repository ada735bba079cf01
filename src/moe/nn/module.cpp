// nn/module.cpp: parameter registration, dotted-name lookup and train/eval propagation.
#include "moe/nn/module.h"

namespace moe::nn {

void Module::check_new_name(const std::string& name) const {
  MOE_CHECK(!name.empty() && name.find('.') == std::string::npos,
            "Module: name '{}' must be non-empty and contain no '.'", name);
  for (const auto& [n, slot] : params_) MOE_CHECK(n != name, "Module: name '{}' is already a parameter", name);
  for (const auto& [n, child] : children_) MOE_CHECK(n != name, "Module: name '{}' is already a child module", name);
}

void Module::register_parameter(const std::string& name, Tensor& slot) {
  check_new_name(name);
  MOE_CHECK(slot.defined(), "Module::register_parameter: parameter '{}' is undefined", name);
  MOE_CHECK(is_floating(slot.dtype()), "Module::register_parameter: parameter '{}' must be floating, got {}", name,
            slot.str());
  slot.set_requires_grad(true);
  params_.emplace_back(name, &slot);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  MOE_CHECK(module != nullptr, "Module::register_module: module '{}' is null", name);
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, NamedTensors& out) const {
  for (const auto& [name, slot] : params_) out.emplace_back(prefix + name, *slot);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

Tensor* Module::find_slot(const std::string& name) const {
  const size_t dot = name.find('.');
  if (dot == std::string::npos) {
    for (const auto& [n, slot] : params_)
      if (n == name) return slot;
    return nullptr;
  }
  const std::string head = name.substr(0, dot);
  for (const auto& [n, child] : children_)
    if (n == head) return child->find_slot(name.substr(dot + 1));
  return nullptr;
}

Tensor Module::parameter(const std::string& name) const {
  Tensor* slot = find_slot(name);
  MOE_CHECK(slot != nullptr, "Module::parameter: no parameter named '{}'", name);
  return *slot;
}

void Module::set_parameter(const std::string& name, const Tensor& value) {
  Tensor* slot = find_slot(name);
  MOE_CHECK(slot != nullptr, "Module::set_parameter: no parameter named '{}'", name);
  MOE_CHECK(value.defined() && value.shape() == slot->shape() && value.dtype() == slot->dtype(),
            "Module::set_parameter: '{}' is {}, got {}", name, slot->str(), value.str());
  *slot = value;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

}  // namespace moe::nn
