// sparse/magnitude_pruning.h: iterative magnitude pruning for lottery tickets (Frankle &
// Carbin 2019, "The Lottery Ticket Hypothesis", Alg. 1; with rewinding to an early
// iteration k, Frankle et al. 2019, "Stabilizing the Lottery Ticket Hypothesis"): a 0/1
// mask per prunable weight tensor, global pruning of the smallest-magnitude surviving
// weights, masks applied to weights and gradients, and weight snapshots to rewind to.
// Not here: the training loop (train/lottery_trainer.h) or CSR storage (sparse/csr.h).
//
// Masking rule during training: mask_gradients() before each optimizer step (so Adam's
// moments of pruned weights stay exactly 0 and their update is 0) and apply_masks() after
// it (so a pruned weight is exactly +0.0 whatever the optimizer did, e.g. weight decay).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "moe/nn/module.h"

namespace moe::sparse {

// The component a ViT parameter belongs to for pruning: "attention" for
// blocks.{i}.attn.{qkv,proj}.weight, "mlp" for blocks.{i}.mlp.{fc1,fc2}.weight,
// "patch_embed" for patch_embed.weight, "" for anything not prunable (biases, norms,
// class token, position embeddings, the head).
std::string vit_component(const std::string& name);

// The prunable parameters of a ViT in registration order: the attention and MLP Linear
// weights, and patch_embed.weight when `include_patch_embed`.
nn::NamedTensors vit_prunable_parameters(const nn::Module& vit, bool include_patch_embed);

class MagnitudePruner {
 public:
  // `prunable`: contiguous float32/float64 tensors with unique names (live handles: the
  // pruner reads and writes their memory). Every weight starts unpruned.
  // `component_of` names each tensor's component (for the per-component counts).
  explicit MagnitudePruner(nn::NamedTensors prunable,
                           std::function<std::string(const std::string&)> component_of = vit_component);

  // Global magnitude pruning (LTH Alg. 1 step 3, "prune p% of the parameters"): removes
  // round(fraction * remaining) of the surviving weights, those with the smallest |w|
  // across all tensors at once. Ties are broken by tensor order, then element index, so
  // exactly that many are removed. Returns the number removed. fraction in [0, 1].
  int64_t prune_global(double fraction);
  // Removes the `count` smallest-|w| surviving weights among the tensors whose name
  // passes `select` (all when empty), same tie rule. Throws when fewer survive.
  int64_t prune_smallest(int64_t count, const std::function<bool(const std::string&)>& select = {});
  // Prunes the tensors of `component` (by magnitude, among themselves) until that
  // component's sparsity is round(sparsity * its size) / its size; others untouched.
  int64_t prune_component_to(const std::string& component, double sparsity);

  // w = 0 where the mask is 0 (exactly +0.0).
  void apply_masks() const;
  // grad = 0 where the mask is 0, for every tensor that has a gradient.
  void mask_gradients() const;

  int64_t total() const;      // prunable weights
  int64_t remaining() const;  // unpruned weights
  double sparsity() const { return total() ? 1.0 - static_cast<double>(remaining()) / total() : 0.0; }
  // Sparsity per component name (over that component's prunable weights).
  std::map<std::string, double> component_sparsity() const;

  const nn::NamedTensors& tensors() const { return tensors_; }
  // Tensor i's mask: 1 = kept, 0 = pruned; same numel as tensors()[i].
  const std::vector<uint8_t>& mask(size_t i) const { return masks_.at(i); }
  // The same masks over other live tensors with the same names and shapes (the random
  // re-initialisation control's model); throws naming a missing or mismatched tensor.
  MagnitudePruner with_tensors(const nn::NamedTensors& others) const;

 private:
  nn::NamedTensors tensors_;
  std::vector<std::string> components_;
  std::vector<std::vector<uint8_t>> masks_;
};

// Copies of every parameter of a module (Frankle et al. 2019's theta_k for rewinding).
class WeightSnapshot {
 public:
  static WeightSnapshot take(const nn::Module& module);
  // Copies the saved values back into `module`'s parameters in place (bit for bit);
  // throws naming a parameter that is missing from the snapshot or has another shape.
  void restore(const nn::Module& module) const;
  const nn::NamedTensors& values() const { return values_; }

 private:
  nn::NamedTensors values_;
};

}  // namespace moe::sparse
