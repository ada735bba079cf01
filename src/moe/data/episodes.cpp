// data/episodes.cpp: the episode samplers of episodes.h.
#include "moe/data/episodes.h"

#include <fmt/core.h>

#include <numeric>

#include "moe/core/error.h"

namespace moe::data {

namespace {

void check_shape(const EpisodeShape& s, int64_t pool, const char* who) {
  MOE_CHECK(s.ways >= 1 && s.shots >= 1 && s.queries >= 1,
            "{}: ways, shots and queries must be >= 1, got ways={} shots={} queries={}", who, s.ways, s.shots, s.queries);
  MOE_CHECK(pool == 0 || s.ways <= pool, "{}: {}-way episodes need {} classes, the pool has {}", who, s.ways, s.ways,
            pool);
}

Tensor labels_of(int64_t ways, int64_t per_class) {
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < ways; ++c)
    for (int64_t k = 0; k < per_class; ++k) labels.push_back(c);
  return Tensor::from_vector(labels, {ways * per_class});
}

}  // namespace

std::vector<int64_t> sample_distinct(int64_t pool, int64_t count, Rng& rng) {
  MOE_CHECK(count >= 0 && count <= pool, "sample_distinct: cannot draw {} distinct of {}", count, pool);
  std::vector<int64_t> idx(static_cast<size_t>(pool));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  for (int64_t i = 0; i < count; ++i)
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(rng.randint(i, pool))]);
  idx.resize(static_cast<size_t>(count));
  return idx;
}

GlyphEpisodes::GlyphEpisodes(std::vector<GlyphClass> classes, RasterOptions raster)
    : classes_(std::move(classes)), raster_(raster) {
  MOE_CHECK(!classes_.empty(), "GlyphEpisodes: no classes");
}

Episode GlyphEpisodes::sample(const EpisodeShape& shape, Rng& rng) const {
  check_shape(shape, num_classes(), "GlyphEpisodes");
  Episode e;
  e.shape = shape;
  e.classes = sample_distinct(num_classes(), shape.ways, rng);
  const int64_t f = feature_dim();
  auto render = [&](int64_t per_class) {
    std::vector<float> pixels;
    pixels.reserve(static_cast<size_t>(shape.ways * per_class * f));
    for (int64_t c : e.classes)
      for (int64_t k = 0; k < per_class; ++k) {
        const std::vector<float> img = rasterise_glyph(classes_[static_cast<size_t>(c)].glyph, raster_, &rng);
        pixels.insert(pixels.end(), img.begin(), img.end());
      }
    return Tensor::from_vector(pixels, {shape.ways * per_class, f});
  };
  e.support = render(shape.shots);
  e.query = render(shape.queries);
  e.support_labels = labels_of(shape.ways, shape.shots);
  e.query_labels = labels_of(shape.ways, shape.queries);
  return e;
}

std::string GlyphEpisodes::describe() const {
  return fmt::format("{} Hershey glyph classes rendered {}x{}", classes_.size(), raster_.size, raster_.size);
}

GaussianEpisodes::GaussianEpisodes(int64_t dim, double noise) : dim_(dim), noise_(noise) {
  MOE_CHECK(dim >= 1 && noise > 0, "GaussianEpisodes: need dim >= 1 and noise > 0, got {}, {}", dim, noise);
}

Episode GaussianEpisodes::sample(const EpisodeShape& shape, Rng& rng) const {
  check_shape(shape, 0, "GaussianEpisodes");
  Episode e;
  e.shape = shape;
  for (int64_t c = 0; c < shape.ways; ++c) e.classes.push_back(c);
  std::vector<std::vector<double>> means(static_cast<size_t>(shape.ways));
  for (auto& m : means)
    for (int64_t d = 0; d < dim_; ++d) m.push_back(rng.normal());
  auto draw = [&](int64_t per_class) {
    std::vector<float> x;
    for (const auto& m : means)
      for (int64_t k = 0; k < per_class; ++k)
        for (int64_t d = 0; d < dim_; ++d) x.push_back(static_cast<float>(m[static_cast<size_t>(d)] + noise_ * rng.normal()));
    return Tensor::from_vector(x, {shape.ways * per_class, dim_});
  };
  e.support = draw(shape.shots);
  e.query = draw(shape.queries);
  e.support_labels = labels_of(shape.ways, shape.shots);
  e.query_labels = labels_of(shape.ways, shape.queries);
  return e;
}

std::string GaussianEpisodes::describe() const {
  return fmt::format("synthetic Gaussian clusters, dim {}, noise {}", dim_, noise_);
}

}  // namespace moe::data
