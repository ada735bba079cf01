// optim/optimizer.h: the Optimizer base class: a list of named parameters, zero_grad(),
// step() and the optimizer state as named tensors (for checkpoints). The update rules
// are in sgd.h and adam.h; clipping in clip.h; learning-rate schedules in schedule.h.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "moe/core/tensor.h"

namespace moe::optim {

// (name, tensor) pairs in a fixed order; the same type as nn::Module::named_parameters().
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  // `params`: contiguous floating tensors (float32 or float64) with unique names; the
  // optimizer keeps their handles and updates their memory in place.
  Optimizer(NamedTensors params, double lr, const char* kind);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Drops every parameter's .grad (the next backward allocates fresh gradients).
  void zero_grad();
  // One update of every parameter that has a gradient; parameters without one are
  // skipped and their state is left as it is. Runs under NoGradGuard.
  void step();

  double lr() const { return lr_; }
  void set_lr(double lr);
  const NamedTensors& params() const { return params_; }
  const char* kind() const { return kind_; }  // "SGD", "Adam", "AdamW": names errors

  // The optimizer state as named tensors, e.g. "adam.m.blocks.0.attn.qkv.weight".
  // These are live handles: they change with the next step(); clone() to snapshot.
  const NamedTensors& state_dict() const { return state_; }
  // Copies `state` into this optimizer's state. Every state tensor must be present with
  // the same shape and dtype, and no unknown names: otherwise throws naming the tensor.
  void load_state_dict(const NamedTensors& state);
  // Parameter elements the last step() updated (the optimizer's arithmetic; Adam skips
  // embedding rows that never had a gradient). For benchmarks.
  int64_t last_step_elements() const { return last_step_elements_; }

 protected:
  // Called at the end of load_state_dict (the state tensors changed).
  virtual void state_loaded() {}
  // Called at the end of step(), after update() of every parameter with a gradient
  // (an optimizer may queue its updates and run them together here).
  virtual void finish_step() {}
  void count_updated(int64_t elements) { last_step_elements_ += elements; }
  // Registers one state tensor (zeros of `shape` and `dtype`) named `name`;
  // returns its handle (load_state_dict copies into it, so the handle stays valid).
  Tensor add_state(const std::string& name, const Shape& shape, DType dtype, Device device = Device::CPU);
  // Updates parameter `index` given its gradient (same shape and dtype, contiguous).
  virtual void update(size_t index, const Tensor& param, const Tensor& grad) = 0;

 private:
  NamedTensors params_;
  NamedTensors state_;
  double lr_;
  const char* kind_;
  int64_t last_step_elements_ = 0;
};

}  // namespace moe::optim
