// data/episodes.h: N-way K-shot episodes for meta-learning (Vinyals et al. 2016,
// "Matching Networks for One Shot Learning", sec. 4): N classes drawn at random from a
// pool, relabelled 0..N-1 in the order drawn, K support and Q query examples each.
// Two sources: rendered Hershey glyphs (data/hershey.h) and a synthetic task of Gaussian
// clusters whose class means are fresh in every episode (so nothing about a class can
// be memorised across episodes; only the few-shot rule can be learned).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moe/core/tensor.h"
#include "moe/data/hershey.h"

namespace moe::data {

struct EpisodeShape {
  int64_t ways = 5;     // N
  int64_t shots = 1;    // K support examples per class
  int64_t queries = 5;  // Q query examples per class
};

struct Episode {
  EpisodeShape shape;
  Tensor support;         // (N*K, F) float32; class c's examples are rows c*K .. c*K+K-1
  Tensor support_labels;  // (N*K) int64 in [0, N)
  Tensor query;           // (N*Q, F) float32; class c's are rows c*Q .. c*Q+Q-1
  Tensor query_labels;    // (N*Q) int64 in [0, N)
  std::vector<int64_t> classes;  // the pool index of each relabelled class (label c = classes[c])
};

class EpisodeSampler {
 public:
  virtual ~EpisodeSampler() = default;
  // Draws one episode from `rng`; throws when shape asks for more classes than the pool has.
  virtual Episode sample(const EpisodeShape& shape, Rng& rng) const = 0;
  virtual int64_t feature_dim() const = 0;
  virtual int64_t num_classes() const = 0;  // the pool size; 0 = unlimited (synthetic)
  virtual std::string describe() const = 0;
};

// `count` distinct indices of [0, pool) in random order (a partial Fisher-Yates).
std::vector<int64_t> sample_distinct(int64_t pool, int64_t count, Rng& rng);

// Episodes over glyph classes: every example is a fresh jittered rendering (F = size^2).
class GlyphEpisodes : public EpisodeSampler {
 public:
  GlyphEpisodes(std::vector<GlyphClass> classes, RasterOptions raster);
  Episode sample(const EpisodeShape& shape, Rng& rng) const override;
  int64_t feature_dim() const override { return raster_.size * raster_.size; }
  int64_t num_classes() const override { return static_cast<int64_t>(classes_.size()); }
  std::string describe() const override;
  const std::vector<GlyphClass>& classes() const { return classes_; }
  const RasterOptions& raster() const { return raster_; }

 private:
  std::vector<GlyphClass> classes_;
  RasterOptions raster_;
};

// Synthetic: per episode, class means mu_c ~ N(0, I_dim) drawn fresh, examples
// mu_c + noise * N(0, I_dim). Bayes accuracy rises as noise falls.
class GaussianEpisodes : public EpisodeSampler {
 public:
  GaussianEpisodes(int64_t dim, double noise);
  Episode sample(const EpisodeShape& shape, Rng& rng) const override;
  int64_t feature_dim() const override { return dim_; }
  int64_t num_classes() const override { return 0; }
  std::string describe() const override;

 private:
  int64_t dim_;
  double noise_;
};

}  // namespace moe::data
