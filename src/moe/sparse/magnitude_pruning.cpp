// sparse/magnitude_pruning.cpp: masks, global magnitude pruning, snapshots.
#include "moe/sparse/magnitude_pruning.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

namespace moe::sparse {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Calls f(T* data) for a float32 or float64 contiguous tensor.
template <class F>
void with_floats(const Tensor& t, const std::string& name, const char* what, F&& f) {
  MOE_CHECK(t.is_contiguous(), "magnitude pruning: {} {} must be contiguous, got {}", what, name, t.str());
  if (t.dtype() == DType::f32) f(t.data<float>());
  else if (t.dtype() == DType::f64) f(t.data<double>());
  else throw Error(fmt::format("magnitude pruning: {} {} must be float32 or float64, got {}", what, name, t.str()));
}

double abs_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::f32 ? std::fabs(static_cast<double>(t.data<float>()[i])) : std::fabs(t.data<double>()[i]);
}

}  // namespace

std::string vit_component(const std::string& name) {
  if (name == "patch_embed.weight") return "patch_embed";
  if (name.rfind("blocks.", 0) != 0) return "";
  for (const char* s : {".attn.qkv.weight", ".attn.proj.weight"})
    if (ends_with(name, s)) return "attention";
  for (const char* s : {".mlp.fc1.weight", ".mlp.fc2.weight"})
    if (ends_with(name, s)) return "mlp";
  return "";
}

nn::NamedTensors vit_prunable_parameters(const nn::Module& vit, bool include_patch_embed) {
  nn::NamedTensors out;
  for (const auto& [name, p] : vit.named_parameters()) {
    const std::string c = vit_component(name);
    if (c == "attention" || c == "mlp" || (c == "patch_embed" && include_patch_embed)) out.emplace_back(name, p);
  }
  return out;
}

MagnitudePruner::MagnitudePruner(nn::NamedTensors prunable, std::function<std::string(const std::string&)> component_of)
    : tensors_(std::move(prunable)) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors_) {
    MOE_CHECK(t.defined(), "magnitude pruning: tensor {} is undefined", name);
    MOE_CHECK(names.insert(name).second, "magnitude pruning: tensor {} is listed twice", name);
    with_floats(t, name, "tensor", [](auto*) {});
    components_.push_back(component_of ? component_of(name) : std::string());
    masks_.emplace_back(static_cast<size_t>(t.numel()), uint8_t{1});
  }
}

int64_t MagnitudePruner::prune_global(double fraction) {
  MOE_CHECK(fraction >= 0.0 && fraction <= 1.0, "magnitude pruning: fraction must be in [0, 1], got {}", fraction);
  return prune_smallest(std::llround(fraction * static_cast<double>(remaining())));
}

int64_t MagnitudePruner::prune_smallest(int64_t count, const std::function<bool(const std::string&)>& select) {
  // (|w|, tensor, element): lexicographic order is the magnitude order with the tie rule.
  std::vector<std::tuple<double, size_t, int64_t>> alive;
  for (size_t t = 0; t < tensors_.size(); ++t) {
    if (select && !select(tensors_[t].first)) continue;
    const Tensor& w = tensors_[t].second;
    for (int64_t i = 0; i < w.numel(); ++i)
      if (masks_[t][i]) alive.emplace_back(abs_at(w, i), t, i);
  }
  MOE_CHECK(count >= 0 && count <= static_cast<int64_t>(alive.size()),
            "magnitude pruning: asked to prune {} weights, {} survive in the selected tensors", count, alive.size());
  if (count == 0) return 0;
  std::nth_element(alive.begin(), alive.begin() + (count - 1), alive.end());
  for (int64_t j = 0; j < count; ++j) masks_[std::get<1>(alive[j])][std::get<2>(alive[j])] = 0;
  apply_masks();
  return count;
}

int64_t MagnitudePruner::prune_component_to(const std::string& component, double sparsity) {
  MOE_CHECK(sparsity >= 0.0 && sparsity <= 1.0, "magnitude pruning: sparsity must be in [0, 1], got {}", sparsity);
  int64_t size = 0, pruned = 0;
  for (size_t t = 0; t < tensors_.size(); ++t) {
    if (components_[t] != component) continue;
    size += static_cast<int64_t>(masks_[t].size());
    pruned += std::count(masks_[t].begin(), masks_[t].end(), uint8_t{0});
  }
  MOE_CHECK(size > 0, "magnitude pruning: no prunable tensor belongs to component '{}'", component);
  const int64_t target = std::llround(sparsity * static_cast<double>(size));
  MOE_CHECK(target >= pruned, "magnitude pruning: component '{}' is already at sparsity {} > {}", component,
            static_cast<double>(pruned) / size, sparsity);
  std::set<std::string> names;
  for (size_t t = 0; t < tensors_.size(); ++t)
    if (components_[t] == component) names.insert(tensors_[t].first);
  return prune_smallest(target - pruned, [&](const std::string& n) { return names.count(n) > 0; });
}

void MagnitudePruner::apply_masks() const {
  for (size_t t = 0; t < tensors_.size(); ++t) {
    const std::vector<uint8_t>& m = masks_[t];
    with_floats(tensors_[t].second, tensors_[t].first, "tensor", [&](auto* w) {
      for (size_t i = 0; i < m.size(); ++i)
        if (!m[i]) w[i] = 0;
    });
  }
}

void MagnitudePruner::mask_gradients() const {
  for (size_t t = 0; t < tensors_.size(); ++t) {
    const Tensor g = tensors_[t].second.grad();
    if (!g.defined()) continue;
    MOE_CHECK(g.numel() == static_cast<int64_t>(masks_[t].size()), "magnitude pruning: gradient of {} is {}",
              tensors_[t].first, g.str());
    const std::vector<uint8_t>& m = masks_[t];
    with_floats(g, tensors_[t].first, "gradient of", [&](auto* d) {
      for (size_t i = 0; i < m.size(); ++i)
        if (!m[i]) d[i] = 0;
    });
  }
}

int64_t MagnitudePruner::total() const {
  int64_t n = 0;
  for (const auto& m : masks_) n += static_cast<int64_t>(m.size());
  return n;
}

int64_t MagnitudePruner::remaining() const {
  int64_t n = 0;
  for (const auto& m : masks_) n += std::count(m.begin(), m.end(), uint8_t{1});
  return n;
}

std::map<std::string, double> MagnitudePruner::component_sparsity() const {
  std::map<std::string, std::pair<int64_t, int64_t>> counts;  // component -> (pruned, size)
  for (size_t t = 0; t < masks_.size(); ++t) {
    auto& [pruned, size] = counts[components_[t]];
    pruned += std::count(masks_[t].begin(), masks_[t].end(), uint8_t{0});
    size += static_cast<int64_t>(masks_[t].size());
  }
  std::map<std::string, double> out;
  for (const auto& [c, ps] : counts) out[c] = static_cast<double>(ps.first) / static_cast<double>(ps.second);
  return out;
}

MagnitudePruner MagnitudePruner::with_tensors(const nn::NamedTensors& others) const {
  nn::NamedTensors picked;
  for (const auto& [name, t] : tensors_) {
    auto it = std::find_if(others.begin(), others.end(), [&](const auto& o) { return o.first == name; });
    MOE_CHECK(it != others.end(), "magnitude pruning: the other model has no tensor {}", name);
    MOE_CHECK(it->second.shape() == t.shape(), "magnitude pruning: tensor {} is {} here, {} in the other model", name,
              t.str(), it->second.str());
    picked.emplace_back(name, it->second);
  }
  MagnitudePruner out(std::move(picked), nullptr);
  out.components_ = components_;
  out.masks_ = masks_;
  return out;
}

WeightSnapshot WeightSnapshot::take(const nn::Module& module) {
  WeightSnapshot s;
  for (const auto& [name, p] : module.named_parameters()) s.values_.emplace_back(name, p.detach().clone());
  return s;
}

void WeightSnapshot::restore(const nn::Module& module) const {
  for (const auto& [name, p] : module.named_parameters()) {
    auto it = std::find_if(values_.begin(), values_.end(), [&](const auto& v) { return v.first == name; });
    MOE_CHECK(it != values_.end(), "weight snapshot: no saved value for parameter {}", name);
    MOE_CHECK(it->second.shape() == p.shape() && it->second.dtype() == p.dtype(),
              "weight snapshot: parameter {} is {}, the snapshot holds {}", name, p.str(), it->second.str());
    p.copy_(it->second);
  }
}

}  // namespace moe::sparse
