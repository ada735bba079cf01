// nn/module.h: Module, the base of every layer: named parameters and child modules
// with dotted names ("blocks.3.attn.qkv.weight", stable for checkpoints), and the
// train/eval mode. ModuleList holds numbered children ("blocks.0", "blocks.1", ...).
//
// A module keeps each parameter in a Tensor member and registers that member (a slot):
// named_parameters() returns the live handles (in-place writes such as checkpoint loads
// and optimizer steps reach the module), and set_parameter() rebinds a slot to another
// tensor (weight tying, gradient checks against the module's parameters).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "moe/core/tensor.h"

namespace moe::nn {

// (name, tensor) pairs in a fixed order; the same type as optim::NamedTensors.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Slots point into the object, so a module is neither copied nor moved.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // As torch: this module's parameters in registration order, then each child's
  // (depth first, children in registration order), names joined with '.'.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;  // total elements
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }

  // The parameter at a dotted name; throws naming it when absent.
  Tensor parameter(const std::string& name) const;
  // Rebinds the parameter slot at a dotted name to `value` (same shape and dtype), as
  // is: requires_grad is not changed. Handles taken earlier (an optimizer's) keep the
  // old tensor, so rebind before building the optimizer.
  void set_parameter(const std::string& name, const Tensor& value);

  // Training mode (the default) or evaluation mode, for this module and all below.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

 protected:
  // Registers the member `slot` (defined, floating) as parameter `name` and marks it
  // requires_grad. `slot` must live as long as the module and never move.
  void register_parameter(const std::string& name, Tensor& slot);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void check_new_name(const std::string& name) const;
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, NamedTensors& out) const;
  Tensor* find_slot(const std::string& name) const;

  std::vector<std::pair<std::string, Tensor*>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Numbered children: push_back(m) registers m as "<size>".
class ModuleList : public Module {
 public:
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    return register_module(std::to_string(size()), std::move(module));
  }
  size_t size() const { return named_children().size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return named_children().at(i).second; }
};

}  // namespace moe::nn
