// test_data_text_features.cpp: NeuroShard's featurizers: word splitting, FNV-1a hashing,
// hashed word / n-gram ids, and the letter-frequency vector on hand-made strings.
#include <gtest/gtest.h>

#include <map>

#include "moe/core/error.h"
#include "moe/data/text_features.h"

namespace moe::data {
namespace {

void expect_freqs(const std::string& text, const std::map<char, double>& want) {
  const std::vector<double> f = letter_frequencies(text);
  ASSERT_EQ(f.size(), 26u);
  for (int c = 0; c < 26; ++c) {
    auto it = want.find(static_cast<char>('a' + c));
    EXPECT_NEAR(f[static_cast<size_t>(c)], it == want.end() ? 0.0 : it->second, 1e-12)
        << "letter " << static_cast<char>('a' + c) << " of '" << text << "'";
  }
}

TEST(TextFeatures, Fnv1aKnownValues) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);  // the offset basis
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);  // published FNV-1a 64 test vector
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(TextFeatures, SplitWordsLowerCasesAndFoldsUmlauts) {
  EXPECT_EQ(split_words("Hello, WORLD! B\xC3\x84R  x2"), (std::vector<std::string>{"hello", "world", "b\xC3\xA4r", "x2"}));
  EXPECT_EQ(split_words("Stra\xC3\x9F" "e caf\xC3\xA9"), (std::vector<std::string>{"stra\xC3\x9F" "e", "caf"}));
  EXPECT_TRUE(split_words(" ,.! ").empty());
}

TEST(TextFeatures, LetterFrequenciesPlainAndCase) {
  expect_freqs("abc", {{'a', 1.0 / 3}, {'b', 1.0 / 3}, {'c', 1.0 / 3}});
  expect_freqs("AaB", {{'a', 2.0 / 3}, {'b', 1.0 / 3}});
  expect_freqs("zz top!", {{'z', 0.4}, {'t', 0.2}, {'o', 0.2}, {'p', 0.2}});
}

TEST(TextFeatures, LetterFrequenciesUmlautsAndSharpS) {
  // Ä -> a: a p f e l
  expect_freqs("\xC3\x84pfel", {{'a', 0.2}, {'p', 0.2}, {'f', 0.2}, {'e', 0.2}, {'l', 0.2}});
  // ü b e r  ö l -> u b e r o l
  expect_freqs("\xC3\xBC" "ber \xC3\x96l", {{'u', 1.0 / 6}, {'b', 1.0 / 6}, {'e', 1.0 / 6}, {'r', 1.0 / 6},
                                                {'o', 1.0 / 6}, {'l', 1.0 / 6}});
  // Straße -> s t r a ss e: 7 letters, s three times
  expect_freqs("Stra\xC3\x9F" "e", {{'s', 3.0 / 7}, {'t', 1.0 / 7}, {'r', 1.0 / 7}, {'a', 1.0 / 7}, {'e', 1.0 / 7}});
  // é and digits are ignored
  expect_freqs("caf\xC3\xA9 42", {{'c', 1.0 / 3}, {'a', 1.0 / 3}, {'f', 1.0 / 3}});
}

TEST(TextFeatures, LetterFeatureWithoutLettersIsZeroAndPadded) {
  expect_freqs("123 ?!", {});
  const std::vector<double> f = letter_feature("ab", 64);
  ASSERT_EQ(f.size(), 64u);
  EXPECT_DOUBLE_EQ(f[0], 0.5);
  EXPECT_DOUBLE_EQ(f[1], 0.5);
  for (size_t i = 26; i < 64; ++i) EXPECT_EQ(f[i], 0.0);
  EXPECT_THROW(letter_feature("ab", 20), Error);
}

TEST(TextFeatures, HashedWordIdsDependOnTheWordOnly) {
  FeaturizerSpec s;  // word, 5000 rows
  const std::vector<int64_t> a = hashed_ids(s, "Vogel hund katze");
  const std::vector<int64_t> b = hashed_ids(s, "katze, VOGEL!");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[0], b[1]);
  EXPECT_EQ(a[2], b[0]);
  EXPECT_EQ(a[0], static_cast<int64_t>(fnv1a64("vogel") % 5000));
  for (int64_t id : a) EXPECT_TRUE(id >= 0 && id < 5000);
  EXPECT_TRUE(hashed_ids(s, "?!").empty());
}

TEST(TextFeatures, HashedNgramIdsCountEveryGram) {
  FeaturizerSpec s;
  s.kind = "ngram";
  s.rows = 100;
  // "<ab>" has 3 bigrams, 2 trigrams, 1 four-gram
  const std::vector<int64_t> ids = hashed_ids(s, "ab");
  ASSERT_EQ(ids.size(), 6u);
  EXPECT_EQ(ids[0], static_cast<int64_t>(fnv1a64("<a") % 100));
  EXPECT_EQ(ids[5], static_cast<int64_t>(fnv1a64("<ab>") % 100));
  s.kind = "letters";
  EXPECT_THROW(hashed_ids(s, "ab"), Error);
}

TEST(TextFeatures, SpecJsonRoundTripAndValidation) {
  FeaturizerSpec s = FeaturizerSpec::from_json({{"kind", "ngram"}, {"rows", 77}}, "emb");
  EXPECT_EQ(s.kind, "ngram");
  EXPECT_EQ(s.rows, 77);
  FeaturizerSpec t = FeaturizerSpec::from_json(s.to_json(), "emb");
  EXPECT_EQ(t.to_json(), s.to_json());
  EXPECT_THROW(FeaturizerSpec::from_json({{"kind", "glove"}}, "emb"), Error);
  EXPECT_THROW(FeaturizerSpec::from_json({{"rowz", 5}}, "emb"), Error);
}

}  // namespace
}  // namespace moe::data
