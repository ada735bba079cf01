// The sentiment data: the synthetic generator is deterministic, balanced and separable
// enough (a nearest-centroid rule fitted on one draw classifies another well above
// chance); the fixture loader skips null classes and splits 4:1; hashed features are
// deterministic, signed and of norm sqrt(dim).
#include <cmath>
#include <fstream>

#include "moe/data/sentiment.h"
#include "test_util.h"

using namespace moe;
using namespace moe::data;

TEST(SyntheticSentiment, DeterministicForASeed) {
  Rng a(7), b(7), c(8);
  Classification x = make_synthetic_sentiment(50, a), y = make_synthetic_sentiment(50, b);
  Classification z = make_synthetic_sentiment(50, c);
  EXPECT_EQ(x.features.shape(), (Shape{50, 20}));
  EXPECT_EQ(x.features.to_vector<float>(), y.features.to_vector<float>());
  EXPECT_EQ(x.labels.to_vector<int64_t>(), y.labels.to_vector<int64_t>());
  EXPECT_NE(x.features.to_vector<float>(), z.features.to_vector<float>());
  EXPECT_EQ(synthetic_sentiment_classes().size(), 3u);
  EXPECT_THROW(make_synthetic_sentiment(0, a), Error);
}

TEST(SyntheticSentiment, BalancedAndSeparableByNearestCentroid) {
  Rng rng(1);
  Classification train = make_synthetic_sentiment(3000, rng), test = make_synthetic_sentiment(1000, rng);
  const int64_t F = 20;
  std::vector<float> x = train.features.to_vector<float>();
  std::vector<int64_t> y = train.labels.to_vector<int64_t>();
  std::vector<std::vector<double>> centroid(3, std::vector<double>(F, 0.0));
  std::vector<int64_t> count(3, 0);
  for (size_t i = 0; i < y.size(); ++i) {
    ++count[y[i]];
    for (int64_t f = 0; f < F; ++f) centroid[y[i]][f] += x[i * F + f];
  }
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(count[c] / 3000.0, 1.0 / 3, 0.04);
    for (double& v : centroid[c]) v /= count[c];
  }
  std::vector<float> tx = test.features.to_vector<float>();
  std::vector<int64_t> ty = test.labels.to_vector<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < ty.size(); ++i) {
    int64_t best = 0;
    double best_d = INFINITY;
    for (int64_t c = 0; c < 3; ++c) {
      double d = 0;
      for (int64_t f = 0; f < F; ++f) d += (tx[i * F + f] - centroid[c][f]) * (tx[i * F + f] - centroid[c][f]);
      if (d < best_d) best_d = d, best = c;
    }
    correct += best == ty[i];
  }
  const double acc = static_cast<double>(correct) / ty.size();
  EXPECT_GT(acc, 0.8);   // separable enough to learn
  EXPECT_LT(acc, 0.99);  // not trivial: the noise overlaps the clusters
}

TEST(SentimentFixtures, SkipsNullClassesAndSplitsFourToOne) {
  const std::string dir = moe::test::test_tmp_dir();
  for (const char* source : {"imdb", "yelp", "amazon"}) {
    std::ofstream f(dir + "/" + source + ".json");
    f << "[";
    for (int i = 0; i < 10; ++i) f << R"({"text": "good movie )" << i << R"(", "class": )" << (i % 2) << "},";
    f << R"({"text": "", "class": null}])";
  }
  std::vector<LabelledText> t = load_sentiment_fixtures(dir);
  ASSERT_EQ(t.size(), 30u);
  int64_t tests = 0;
  for (const LabelledText& x : t) tests += x.test;
  EXPECT_EQ(tests, 6);  // entries 4 and 9 of each file
  EXPECT_TRUE(t[4].test);
  EXPECT_FALSE(t[5].test);
  EXPECT_EQ(t[3].label, 1);
  EXPECT_EQ(t[10].source, "yelp");
  Classification train = featurise(t, 16, false), test = featurise(t, 16, true);
  EXPECT_EQ(train.features.shape(), (Shape{24, 16}));
  EXPECT_EQ(test.labels.shape(), (Shape{6}));
  { std::ofstream(dir + "/yelp.json") << R"([{"text": "x", "class": 2}])"; }
  EXPECT_THROW(load_sentiment_fixtures(dir), Error);
  EXPECT_THROW(load_sentiment_fixtures(dir + "/missing"), Error);
}

TEST(HashFeatures, DeterministicSignedAndNormalised) {
  std::vector<float> a = hash_features("Wow... Loved this place.", 20), b = hash_features("wow loved THIS place", 20);
  EXPECT_EQ(a, b);  // case and punctuation do not matter
  double norm = 0;
  bool negative = false;
  for (float v : a) norm += v * v, negative |= v < 0;
  EXPECT_NEAR(norm, 20.0, 1e-4);
  EXPECT_TRUE(negative);  // signed hashing
  EXPECT_NE(a, hash_features("Terrible service, never again.", 20));
  EXPECT_EQ(hash_features("...", 8), std::vector<float>(8, 0.0f));
  EXPECT_THROW(hash_features("x", 0), Error);
}
