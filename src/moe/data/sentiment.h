// data/sentiment.h: the sentiment classifier's data: a synthetic generator with 20
// features, and real labelled sentences (the npm package `sentiment`'s test fixtures)
// turned into fixed-width vectors by feature hashing.
//
// Synthetic sentiment (make_synthetic_sentiment). Classes 0 positive, 1 negative,
// 2 neutral; 20 features in four groups of 5 that stand for bag-of-words evidence:
//   features  0.. 4  "positive words"     5.. 9  "negative words"
//   features 10..14  "neutral / factual"  15..19  "style" (no class signal)
// Every example is x = mu[class][style] + noise * N(0, I): its class adds `signal` to
// each feature of its own group; its style s (0 or 1, a fair coin) adds +signal to
// features 15..17 (s = 0) or to 18..19 (s = 1) and, for the two polar classes, a weaker
// 0.5 * signal on the opposite polar group ("mixed reviews": a positive text with some
// negative words), so the classes are two Gaussian clusters each, separable but not
// trivially, with a different structure per class for experts to specialise on.
// Classes are drawn uniformly. Deterministic for a given seed (Philox).
//
// Real sentences (load_sentiment_fixtures): test/fixtures/{imdb,yelp,amazon}.json of
// npm `sentiment` 5.0.2, each a JSON array of {"text": "...", "class": 0 | 1 | null}:
// 1,000 labelled sentences per file (500 of class 0 = negative, 500 of class 1 =
// positive) and one entry with class null, skipped. So the real task has 2 classes.
// The split is fixed: in each file, entry i (counting labelled entries only) is a test
// example when i % 5 == 4 (20%: 600 test, 2,400 train).
//
// Hashed features (hash_features): the text lowercased (ASCII); words are maximal runs
// of letters, digits, apostrophes and non-ASCII bytes; each word w adds a count to slot h("w:" w) and
// each character n-gram g of " w " (n = 3, every word padded by spaces) to h("c:" g);
// the slot is FNV-1a-64 mod dim and the sign of the count the top bit of the hash
// (signed feature hashing, Weinberger et al. 2009, eq. 2), so collisions cancel in
// expectation. The vector is scaled to norm sqrt(dim) (unit RMS), zeros for empty text.
#pragma once
#include <string>
#include <vector>

#include "moe/core/rng.h"
#include "moe/data/synthetic.h"

namespace moe::data {

inline constexpr int64_t kSyntheticSentimentFeatures = 20;
const std::vector<std::string>& synthetic_sentiment_classes();  // positive, negative, neutral

// n examples; signal: the class offset; noise: the Gaussian std.
Classification make_synthetic_sentiment(int64_t n, Rng& rng, double signal = 1.0, double noise = 1.0);

struct LabelledText {
  std::string text;
  int64_t label = 0;   // 0 negative, 1 positive
  std::string source;  // imdb | yelp | amazon
  bool test = false;   // in the fixed test split
};
const std::vector<std::string>& fixture_sentiment_classes();  // negative, positive

// Reads DIR/{imdb,yelp,amazon}.json (scripts/get_sentiment_data.sh writes them);
// throws naming the file when one is missing or malformed.
std::vector<LabelledText> load_sentiment_fixtures(const std::string& dir);

// One text -> dim floats, as described above.
std::vector<float> hash_features(const std::string& text, int64_t dim);
// The train or test split of `texts` as a Classification (features (N, dim) float32).
Classification featurise(const std::vector<LabelledText>& texts, int64_t dim, bool test_split);

}  // namespace moe::data
