// Episode samplers: labels 0..N-1 grouped by class, counts, distinct classes drawn from
// the pool, determinism per seed, the synthetic task's fresh means, errors.
#include <set>

#include "moe/data/episodes.h"
#include "test_util.h"

using namespace moe;
using namespace moe::data;
using namespace moe::test;

namespace {

std::vector<GlyphClass> tiny_classes(int n) {
  std::vector<GlyphClass> out;
  for (int i = 0; i < n; ++i) {
    GlyphClass c;
    c.font = "t";
    c.position = i;
    c.glyph.strokes = {{{-8 + i, -8}, {8 - i, 8}}, {{-8, 8 - i}}};  // distinct drawings
    out.push_back(c);
  }
  return out;
}

void expect_grouped_labels(const Tensor& labels, int64_t ways, int64_t per_class) {
  ASSERT_EQ(labels.dtype(), DType::i64);
  ASSERT_EQ(labels.shape(), (Shape{ways * per_class}));
  const std::vector<int64_t> v = labels.to_vector<int64_t>();
  for (int64_t i = 0; i < ways * per_class; ++i) EXPECT_EQ(v[static_cast<size_t>(i)], i / per_class);
}

}  // namespace

TEST(Episodes, SampleDistinctIsAPartialPermutation) {
  Rng rng(1);
  const std::vector<int64_t> idx = sample_distinct(10, 4, rng);
  ASSERT_EQ(idx.size(), 4u);
  EXPECT_EQ(std::set<int64_t>(idx.begin(), idx.end()).size(), 4u);
  for (int64_t i : idx) EXPECT_TRUE(i >= 0 && i < 10);
  EXPECT_EQ(sample_distinct(3, 3, rng).size(), 3u);
  EXPECT_THROW(sample_distinct(3, 4, rng), Error);
}

TEST(Episodes, GlyphEpisodeCountsLabelsAndClasses) {
  RasterOptions raster;
  raster.size = 12;
  GlyphEpisodes sampler(tiny_classes(6), raster);
  EXPECT_EQ(sampler.feature_dim(), 144);
  EXPECT_EQ(sampler.num_classes(), 6);
  Rng rng(5);
  const Episode e = sampler.sample({3, 2, 4}, rng);
  EXPECT_EQ(e.support.shape(), (Shape{6, 144}));
  EXPECT_EQ(e.query.shape(), (Shape{12, 144}));
  expect_grouped_labels(e.support_labels, 3, 2);
  expect_grouped_labels(e.query_labels, 3, 4);
  ASSERT_EQ(e.classes.size(), 3u);
  EXPECT_EQ(std::set<int64_t>(e.classes.begin(), e.classes.end()).size(), 3u);
  // Each support row is a rendering of its class: with no jitter budget it equals the plain rendering.
  RasterOptions still = raster;
  still.jitter = GlyphJitter{0, 0, 0, 0, 0, still.jitter.thickness, 0};
  GlyphEpisodes exact(tiny_classes(6), still);
  Rng r2(9);
  const Episode f = exact.sample({2, 1, 1}, r2);
  const std::vector<float> want = rasterise_glyph(tiny_classes(6)[static_cast<size_t>(f.classes[1])].glyph, still, nullptr);
  const std::vector<float> row = f.support.select(0, 1).to_vector<float>();
  EXPECT_EQ(row, want);
  // Same seed, same episode.
  Rng a(7), b(7);
  const Episode ea = sampler.sample({2, 1, 1}, a), eb = sampler.sample({2, 1, 1}, b);
  EXPECT_EQ(ea.classes, eb.classes);
  EXPECT_EQ(ea.query.to_vector<float>(), eb.query.to_vector<float>());
  expect_error([&] { sampler.sample({7, 1, 1}, rng); }, {"7-way", "pool has 6"});
  expect_error([&] { sampler.sample({2, 0, 1}, rng); }, {"shots"});
  expect_error([] { GlyphEpisodes({}, RasterOptions{}); }, {"no classes"});
}

TEST(Episodes, EveryClassIsDrawnOverManyEpisodes) {
  RasterOptions raster;
  raster.size = 8;
  GlyphEpisodes sampler(tiny_classes(5), raster);
  Rng rng(2);
  std::set<int64_t> seen;
  for (int i = 0; i < 30; ++i)
    for (int64_t c : sampler.sample({2, 1, 1}, rng).classes) seen.insert(c);
  EXPECT_EQ(seen.size(), 5u);
}

TEST(Episodes, GaussianClustersHaveFreshMeans) {
  GaussianEpisodes sampler(4, 0.01);
  Rng rng(3);
  const Episode a = sampler.sample({3, 2, 2}, rng), b = sampler.sample({3, 2, 2}, rng);
  EXPECT_EQ(a.support.shape(), (Shape{6, 4}));
  expect_grouped_labels(a.query_labels, 3, 2);
  // Low noise: a class's support and query rows are near each other, and far between episodes.
  const std::vector<float> sa = a.support.to_vector<float>(), qa = a.query.to_vector<float>(), sb = b.support.to_vector<float>();
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(sa[static_cast<size_t>(j)], qa[static_cast<size_t>(j)], 0.1);
  double diff = 0;
  for (int j = 0; j < 4; ++j) diff += std::abs(sa[static_cast<size_t>(j)] - sb[static_cast<size_t>(j)]);
  EXPECT_GT(diff, 0.1);
  EXPECT_EQ(sampler.num_classes(), 0);
  EXPECT_THROW(GaussianEpisodes(0, 1.0), Error);
  EXPECT_THROW(GaussianEpisodes(3, 0.0), Error);
}
