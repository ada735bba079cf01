// data/text_features.h: the NeuroShard model's text featurizers (issue #6). A text
// becomes either a bag of hashed row ids into a learned table (the model averages the
// rows) or a fixed letter-frequency vector:
//   "word"    the lower-cased words, each hashed with 64-bit FNV-1a to a row in [0, rows).
//             The hash depends on the word alone, so a saved model routes a text exactly
//             as before a reload (the seed numbered words in order of first use and never
//             saved that list).
//   "ngram"   the character n-grams (n = ngram_min..ngram_max, over the lower-cased text
//             with each word wrapped as "<word>", FastText style) hashed the same way.
//   "letters" 26 counts of a-z, L1-normalised (all zeros when a text has no letter),
//             then zero-padded to `dim` (entries 26..dim-1 are 0; dim >= 26). Umlauts
//             ä/ö/ü (and Ä/Ö/Ü) count as a/o/u, ß counts as two s; upper case counts as
//             lower case; every other character (digits, punctuation, other scripts) is
//             ignored.
// Words: maximal runs of ASCII letters, digits, and the UTF-8 letters ä ö ü ß (upper case
// folded); everything else separates words.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moe::data {

// 64-bit FNV-1a (Fowler, Noll, Vo) of the bytes of s.
uint64_t fnv1a64(const std::string& s);

// Lower-cases ASCII and Ä Ö Ü (UTF-8) and splits into words as described above.
std::vector<std::string> split_words(const std::string& text);

// The 26 L1-normalised letter frequencies of `text` (a..z), as described above.
std::vector<double> letter_frequencies(const std::string& text);

struct FeaturizerSpec {
  std::string kind = "word";  // "word", "ngram" or "letters"
  int64_t rows = 5000;        // hashed table rows (word, ngram)
  int64_t ngram_min = 2, ngram_max = 4;

  bool learned() const { return kind != "letters"; }
  // Throws naming the bad field; `where` prefixes messages.
  void validate(const std::string& where) const;
  static FeaturizerSpec from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// The hashed row ids of `text` under a learned featurizer, in text order, repeats kept
// (a word said twice weighs twice in the mean); empty when the text has no word.
std::vector<int64_t> hashed_ids(const FeaturizerSpec& spec, const std::string& text);

// The fixed feature of a "letters" featurizer: letter_frequencies zero-padded to dim.
std::vector<double> letter_feature(const std::string& text, int64_t dim);

}  // namespace moe::data
