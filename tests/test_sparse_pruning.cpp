// test_sparse_pruning.cpp: magnitude pruning for lottery tickets: which ViT tensors are
// prunable, global pruning removes exactly the smallest-|w| weights, sparsity after r
// rounds is 1 - 0.8^r, masked weights (and their Adam moments) stay exactly zero through
// training, rewinding restores the saved values bit for bit, component-only pruning.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "moe/models/vit.h"
#include "moe/sparse/magnitude_pruning.h"
#include "test_util.h"

namespace moe::test {
namespace {

using sparse::MagnitudePruner;
using sparse::WeightSnapshot;

models::ViTConfig tiny_vit() {
  models::ViTConfig c;
  c.image_size = 8, c.patch_size = 4, c.d_model = 8, c.heads = 2, c.layers = 2, c.d_ff = 12, c.classes = 3;
  return c;
}

// Every pruned weight must be exactly +0.0 (bit pattern 0).
void expect_pruned_are_zero(const MagnitudePruner& p) {
  for (size_t t = 0; t < p.tensors().size(); ++t) {
    const std::vector<float> w = p.tensors()[t].second.to_vector<float>();
    for (size_t i = 0; i < w.size(); ++i)
      if (!p.mask(t)[i]) {
        uint32_t bits;
        std::memcpy(&bits, &w[i], 4);
        ASSERT_EQ(bits, 0u) << p.tensors()[t].first << "[" << i << "] = " << w[i];
      }
  }
}

TEST(MagnitudePruning, ViTPrunableTensors) {
  Rng rng(1);
  models::ViT vit(tiny_vit(), rng);
  std::vector<std::string> names;
  for (const auto& [n, t] : sparse::vit_prunable_parameters(vit, false)) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"blocks.0.attn.qkv.weight", "blocks.0.attn.proj.weight",
                                             "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc2.weight",
                                             "blocks.1.attn.qkv.weight", "blocks.1.attn.proj.weight",
                                             "blocks.1.mlp.fc1.weight", "blocks.1.mlp.fc2.weight"}));
  EXPECT_EQ(sparse::vit_prunable_parameters(vit, true).front().first, "patch_embed.weight");
  EXPECT_EQ(sparse::vit_component("blocks.3.attn.qkv.bias"), "");
  EXPECT_EQ(sparse::vit_component("blocks.3.ln1.weight"), "");
  EXPECT_EQ(sparse::vit_component("head.weight"), "");
  EXPECT_EQ(sparse::vit_component("pos_emb"), "");
  MagnitudePruner p(sparse::vit_prunable_parameters(vit, false));
  EXPECT_EQ(p.total(), 2 * (24 * 8 + 8 * 8 + 12 * 8 + 8 * 12));
}

TEST(MagnitudePruning, RemovesExactlyTheSmallestWeightsGlobally) {
  Tensor a = rand32({4, 5}, 11, -1, 1), b = rand32({3, 7}, 12, -3, 3);  // different scales: pruning is global
  std::vector<std::pair<double, int>> all;  // (|w|, global index)
  const std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>();
  for (size_t i = 0; i < av.size(); ++i) all.emplace_back(std::fabs(av[i]), static_cast<int>(i));
  for (size_t i = 0; i < bv.size(); ++i) all.emplace_back(std::fabs(bv[i]), static_cast<int>(av.size() + i));
  std::sort(all.begin(), all.end());
  MagnitudePruner p({{"a", a}, {"b", b}}, nullptr);
  EXPECT_EQ(p.prune_global(0.2), std::llround(0.2 * 41));  // 8 of 41
  std::vector<int> pruned;
  for (size_t i = 0; i < av.size(); ++i)
    if (!p.mask(0)[i]) pruned.push_back(static_cast<int>(i));
  for (size_t i = 0; i < bv.size(); ++i)
    if (!p.mask(1)[i]) pruned.push_back(static_cast<int>(av.size() + i));
  std::vector<int> want;
  for (int j = 0; j < 8; ++j) want.push_back(all[j].second);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(pruned, want);
  expect_pruned_are_zero(p);
  // Survivors are untouched.
  const std::vector<float> a2 = a.to_vector<float>();
  for (size_t i = 0; i < av.size(); ++i)
    if (p.mask(0)[i]) EXPECT_EQ(a2[i], av[i]);

  // Ties: exactly `count` are removed, lowest tensor then index first.
  Tensor t = Tensor::from_list({0.5f, -0.5f, 0.5f, 2.0f}, {4});
  MagnitudePruner tie({{"t", t}}, nullptr);
  EXPECT_EQ(tie.prune_smallest(2), 2);
  EXPECT_EQ(tie.mask(0), (std::vector<uint8_t>{0, 0, 1, 1}));
}

TEST(MagnitudePruning, SparsityAfterRRoundsIsOneMinusPointEightToTheR) {
  Tensor a = rand32({50, 40}, 3), b = rand32({30, 30}, 4);  // 2900 weights
  MagnitudePruner p({{"a", a}, {"b", b}}, nullptr);
  // Static weights: iterative global pruning equals one-shot pruning to the same count.
  std::vector<float> mags;
  for (const Tensor& t : {a, b})
    for (float v : t.to_vector<float>()) mags.push_back(std::fabs(v));
  std::sort(mags.begin(), mags.end());
  int64_t remaining = p.total();
  for (int r = 1; r <= 10; ++r) {
    p.prune_global(0.2);
    remaining -= std::llround(0.2 * static_cast<double>(remaining));
    EXPECT_EQ(p.remaining(), remaining);
    EXPECT_NEAR(p.sparsity(), 1.0 - std::pow(0.8, r), 1.0 * r / p.total()) << "round " << r;
    // The survivors are exactly the largest `remaining` magnitudes.
    float smallest_kept = INFINITY;
    for (size_t t = 0; t < 2; ++t) {
      const std::vector<float> w = (t == 0 ? a : b).to_vector<float>();
      for (size_t i = 0; i < w.size(); ++i)
        if (p.mask(t)[i]) smallest_kept = std::min(smallest_kept, std::fabs(w[i]));
    }
    EXPECT_EQ(smallest_kept, mags[static_cast<size_t>(p.total() - remaining)]);
  }
}

TEST(MagnitudePruning, MaskedWeightsAndAdamMomentsStayZeroThroughTraining) {
  Rng rng(2);
  models::ViT vit(tiny_vit(), rng);
  MagnitudePruner p(sparse::vit_prunable_parameters(vit, true));
  p.prune_global(0.5);
  const WeightSnapshot before = WeightSnapshot::take(vit);
  optim::AdamW opt(vit.named_parameters(), {.lr = 1e-2, .weight_decay = 0.1});
  Tensor x = rand32({6, 8, 8}, 3);
  Tensor y = Tensor::from_vector<int64_t>({0, 1, 2, 0, 1, 2}, {6});
  for (int step = 0; step < 5; ++step) {
    opt.zero_grad();
    cross_entropy(vit.forward(x), y).backward();
    p.mask_gradients();
    opt.step();
    p.apply_masks();
    expect_pruned_are_zero(p);
  }
  // Gradients were masked, so Adam's moments of pruned weights never left 0.
  for (size_t t = 0; t < p.tensors().size(); ++t) {
    const std::string& name = p.tensors()[t].first;
    for (const char* kind : {"adam.m.", "adam.v."}) {
      const auto& st = opt.state_dict();
      auto it = std::find_if(st.begin(), st.end(), [&](const auto& s) { return s.first == kind + name; });
      ASSERT_NE(it, st.end()) << kind << name;
      const std::vector<float> m = it->second.to_vector<float>();
      for (size_t i = 0; i < m.size(); ++i)
        if (!p.mask(t)[i]) ASSERT_EQ(m[i], 0.0f) << kind << name << "[" << i << "]";
    }
  }
  // Training did move the surviving weights.
  const std::vector<float> w0 = before.values()[2].second.to_vector<float>();  // patch_embed.weight
  const std::vector<float> w1 = vit.parameter("patch_embed.weight").to_vector<float>();
  int changed = 0;
  for (size_t i = 0; i < w0.size(); ++i) changed += p.mask(0)[i] && w0[i] != w1[i];
  EXPECT_GT(changed, 0);
  EXPECT_NEAR(p.sparsity(), 0.5, 1.0 / p.total());

  // Without gradient masking the optimizer moves pruned weights; applying the masks after
  // every step alone still leaves them exactly zero.
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    cross_entropy(vit.forward(x), y).backward();
    opt.step();
    int moved = 0;
    for (size_t t = 0; t < p.tensors().size(); ++t) {
      const std::vector<float> w = p.tensors()[t].second.to_vector<float>();
      for (size_t i = 0; i < w.size(); ++i) moved += !p.mask(t)[i] && w[i] != 0.0f;
    }
    EXPECT_GT(moved, 0) << "step " << step;
    p.apply_masks();
    expect_pruned_are_zero(p);
  }
}

TEST(MagnitudePruning, RewindRestoresSavedValuesBitForBit) {
  Rng rng(4);
  models::ViT vit(tiny_vit(), rng);
  const WeightSnapshot theta_k = WeightSnapshot::take(vit);
  optim::AdamW opt(vit.named_parameters(), {.lr = 1e-2});
  Tensor x = rand32({4, 8, 8}, 5);
  Tensor y = Tensor::from_vector<int64_t>({0, 1, 2, 1}, {4});
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    cross_entropy(vit.forward(x), y).backward();
    opt.step();
  }
  MagnitudePruner p(sparse::vit_prunable_parameters(vit, false));
  p.prune_global(0.2);  // by the trained magnitudes
  theta_k.restore(vit);
  p.apply_masks();
  const nn::NamedTensors now = vit.named_parameters();
  for (size_t j = 0; j < now.size(); ++j) {
    const std::string& name = now[j].first;
    ASSERT_EQ(theta_k.values()[j].first, name);
    const std::vector<float> saved = theta_k.values()[j].second.to_vector<float>(), got = now[j].second.to_vector<float>();
    auto it = std::find_if(p.tensors().begin(), p.tensors().end(), [&](const auto& t) { return t.first == name; });
    const std::vector<uint8_t>* mask = it == p.tensors().end() ? nullptr : &p.mask(it - p.tensors().begin());
    for (size_t i = 0; i < got.size(); ++i) {
      if (mask && !(*mask)[i]) {
        ASSERT_EQ(got[i], 0.0f);
      } else {
        ASSERT_EQ(std::memcmp(&got[i], &saved[i], 4), 0) << name << "[" << i << "]";
      }
    }
  }
  // A snapshot of another architecture does not fit.
  models::ViTConfig other = tiny_vit();
  other.d_ff = 16;
  Rng rng2(4);
  models::ViT wider(other, rng2);
  EXPECT_THROW(theta_k.restore(wider), Error);
}

TEST(MagnitudePruning, SameMasksOnAFreshModelAndComponentOnlyPruning) {
  Rng rng(6), rng2(99);
  models::ViT a(tiny_vit(), rng), b(tiny_vit(), rng2);
  MagnitudePruner p(sparse::vit_prunable_parameters(a, false));
  p.prune_global(0.36);
  MagnitudePruner q = p.with_tensors(sparse::vit_prunable_parameters(b, false));
  q.apply_masks();
  for (size_t t = 0; t < p.tensors().size(); ++t) EXPECT_EQ(p.mask(t), q.mask(t));
  expect_pruned_are_zero(q);
  EXPECT_EQ(p.component_sparsity().size(), 2u);
  EXPECT_THROW(p.with_tensors({}), Error);

  MagnitudePruner attn_only(sparse::vit_prunable_parameters(b, false));
  attn_only.prune_component_to("attention", 0.5);
  const auto cs = attn_only.component_sparsity();
  EXPECT_NEAR(cs.at("attention"), 0.5, 1e-3);
  EXPECT_EQ(cs.at("mlp"), 0.0);
  EXPECT_THROW(attn_only.prune_component_to("attention", 0.25), Error);  // already sparser
  EXPECT_THROW(attn_only.prune_component_to("patch_embed", 0.5), Error);  // not in this pruner
}

TEST(MagnitudePruning, BadInputThrows) {
  Tensor a = rand32({3, 3}, 1);
  MagnitudePruner p({{"a", a}}, nullptr);
  EXPECT_THROW(p.prune_global(1.5), Error);
  EXPECT_THROW(p.prune_global(-0.1), Error);
  EXPECT_THROW(p.prune_smallest(10), Error);
  EXPECT_THROW(MagnitudePruner({{"a", a}, {"a", a}}, nullptr), Error);
  EXPECT_THROW(MagnitudePruner({{"ids", Tensor::arange(4)}}, nullptr), Error);
  EXPECT_THROW(MagnitudePruner({{"t", rand32({3, 4}, 2).t()}}, nullptr), Error);
}

}  // namespace
}  // namespace moe::test
