// data/sentiment.cpp: the synthetic sentiment generator, the fixture loader and the
// hashed n-gram features (see sentiment.h for the definitions).
#include "moe/data/sentiment.h"

#include <cctype>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "moe/core/error.h"

namespace moe::data {

const std::vector<std::string>& synthetic_sentiment_classes() {
  static const std::vector<std::string> names{"positive", "negative", "neutral"};
  return names;
}

const std::vector<std::string>& fixture_sentiment_classes() {
  static const std::vector<std::string> names{"negative", "positive"};
  return names;
}

Classification make_synthetic_sentiment(int64_t n, Rng& rng, double signal, double noise) {
  MOE_CHECK(n >= 1, "synthetic sentiment: need at least one example, got {}", n);
  const int64_t F = kSyntheticSentimentFeatures;
  std::vector<float> x(n * F);
  std::vector<int64_t> y(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = rng.randint(0, 3), style = rng.randint(0, 2);
    std::vector<double> mu(F, 0.0);
    for (int64_t f = 5 * c; f < 5 * c + 5; ++f) mu[f] += signal;
    if (style == 0)
      for (int64_t f = 15; f < 18; ++f) mu[f] += signal;
    else
      for (int64_t f = 18; f < 20; ++f) mu[f] += signal;
    if (c < 2 && style == 1)  // a mixed review: weaker evidence of the other polarity
      for (int64_t f = 5 * (1 - c); f < 5 * (1 - c) + 5; ++f) mu[f] += 0.5 * signal;
    for (int64_t f = 0; f < F; ++f) x[i * F + f] = static_cast<float>(mu[f] + noise * rng.normal());
    y[i] = c;
  }
  return {Tensor::from_vector(x, {n, F}), Tensor::from_vector(y, {n})};
}

std::vector<LabelledText> load_sentiment_fixtures(const std::string& dir) {
  std::vector<LabelledText> out;
  for (const char* source : {"imdb", "yelp", "amazon"}) {
    const std::string file = dir + "/" + source + ".json";
    std::ifstream in(file);
    MOE_CHECK(in.good(), "sentiment fixtures: cannot open {} (run scripts/get_sentiment_data.sh)", file);
    nlohmann::json j;
    try {
      in >> j;
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("sentiment fixtures: {} is not valid JSON: {}", file, e.what()));
    }
    MOE_CHECK(j.is_array(), "sentiment fixtures: {} must be a JSON array of {{text, class}}", file);
    int64_t i = 0;
    for (const auto& e : j) {
      MOE_CHECK(e.is_object() && e.contains("text") && e["text"].is_string() && e.contains("class"),
                "sentiment fixtures: {}: entry {} is not {{\"text\": string, \"class\": 0 | 1 | null}}", file, i);
      if (e["class"].is_null()) continue;  // unlabelled
      MOE_CHECK(e["class"].is_number_integer() && (e["class"] == 0 || e["class"] == 1),
                "sentiment fixtures: {}: class must be 0, 1 or null, got {}", file, e["class"].dump());
      out.push_back({e["text"].get<std::string>(), e["class"].get<int64_t>(), source, i % 5 == 4});
      ++i;
    }
  }
  return out;
}

namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

void add_hashed(std::vector<double>& v, const std::string& key) {
  const uint64_t h = fnv1a(key);
  v[h % v.size()] += (h >> 63) ? -1.0 : 1.0;
}

}  // namespace

std::vector<float> hash_features(const std::string& text, int64_t dim) {
  MOE_CHECK(dim >= 1, "hash_features: dim must be >= 1, got {}", dim);
  std::vector<double> v(dim, 0.0);
  std::string word;
  auto flush = [&]() {
    if (word.empty()) return;
    add_hashed(v, "w:" + word);
    const std::string padded = " " + word + " ";
    for (size_t i = 0; i + 3 <= padded.size(); ++i) add_hashed(v, "c:" + padded.substr(i, 3));
    word.clear();
  };
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '\'' || ch >= 0x80) {
      word += static_cast<char>(std::tolower(ch));
    } else {
      flush();
    }
  }
  flush();
  double norm = 0;
  for (double a : v) norm += a * a;
  std::vector<float> out(dim, 0.0f);
  if (norm > 0)
    for (int64_t i = 0; i < dim; ++i) out[i] = static_cast<float>(v[i] * std::sqrt(dim / norm));
  return out;
}

Classification featurise(const std::vector<LabelledText>& texts, int64_t dim, bool test_split) {
  std::vector<float> x;
  std::vector<int64_t> y;
  for (const LabelledText& t : texts) {
    if (t.test != test_split) continue;
    std::vector<float> f = hash_features(t.text, dim);
    x.insert(x.end(), f.begin(), f.end());
    y.push_back(t.label);
  }
  const int64_t n = static_cast<int64_t>(y.size());
  MOE_CHECK(n >= 1, "featurise: no {} examples", test_split ? "test" : "train");
  return {Tensor::from_vector(x, {n, dim}), Tensor::from_vector(y, {n})};
}

}  // namespace moe::data
