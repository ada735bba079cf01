// data/text_features.cpp: hashed word / n-gram ids and the letter-frequency vector.
#include "moe/data/text_features.h"

#include <fmt/core.h>

#include "moe/core/error.h"

namespace moe::data {

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64-bit offset basis
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;  // FNV 64-bit prime
  }
  return h;
}

namespace {

// The next character of `text` at `i` as a lower-cased word character ("" when it is
// not one), advancing i past it. UTF-8: Ä Ö Ü = C3 84/96/9C, ä ö ü = C3 A4/B6/BC, ß = C3 9F.
std::string next_word_char(const std::string& text, size_t& i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) {
    ++i;
    if (c >= 'A' && c <= 'Z') return std::string(1, static_cast<char>(c - 'A' + 'a'));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return std::string(1, static_cast<char>(c));
    return "";
  }
  if (c == 0xC3 && i + 1 < text.size()) {
    const unsigned char d = static_cast<unsigned char>(text[i + 1]);
    i += 2;
    switch (d) {
      case 0x84: case 0xA4: return "\xC3\xA4";  // ä
      case 0x96: case 0xB6: return "\xC3\xB6";  // ö
      case 0x9C: case 0xBC: return "\xC3\xBC";  // ü
      case 0x9F: return "\xC3\x9F";             // ß
      default: return "";
    }
  }
  // Any other multi-byte sequence: skip the lead byte and its continuation bytes.
  ++i;
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  return "";
}

}  // namespace

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  for (size_t i = 0; i < text.size();) {
    std::string ch = next_word_char(text, i);
    if (ch.empty()) {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

std::vector<double> letter_frequencies(const std::string& text) {
  std::vector<double> f(26, 0.0);
  for (const std::string& w : split_words(text)) {
    for (size_t i = 0; i < w.size(); ++i) {
      const char c = w[i];
      if (c >= 'a' && c <= 'z') {
        f[static_cast<size_t>(c - 'a')] += 1;
      } else if (static_cast<unsigned char>(c) == 0xC3 && i + 1 < w.size()) {
        const unsigned char d = static_cast<unsigned char>(w[++i]);
        if (d == 0xA4) f['a' - 'a'] += 1;
        if (d == 0xB6) f['o' - 'a'] += 1;
        if (d == 0xBC) f['u' - 'a'] += 1;
        if (d == 0x9F) f['s' - 'a'] += 2;  // ß = "ss"
      }
    }
  }
  double total = 0;
  for (double v : f) total += v;
  if (total > 0)
    for (double& v : f) v /= total;
  return f;
}

void FeaturizerSpec::validate(const std::string& where) const {
  MOE_CHECK(kind == "word" || kind == "ngram" || kind == "letters",
            "{}: embedding kind must be 'word', 'ngram' or 'letters', got '{}'", where, kind);
  MOE_CHECK(rows >= 1, "{}: rows must be >= 1, got {}", where, rows);
  MOE_CHECK(ngram_min >= 1 && ngram_min <= ngram_max, "{}: need 1 <= ngram_min <= ngram_max, got {}..{}", where,
            ngram_min, ngram_max);
}

FeaturizerSpec FeaturizerSpec::from_json(const nlohmann::json& j, const std::string& where) {
  FeaturizerSpec s;
  MOE_CHECK(j.is_object(), "{}: expected an object", where);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    MOE_CHECK(k == "kind" || k == "rows" || k == "ngram_min" || k == "ngram_max", "{}: unknown key '{}'", where, k);
  }
  s.kind = j.value("kind", s.kind);
  s.rows = j.value("rows", s.rows);
  s.ngram_min = j.value("ngram_min", s.ngram_min);
  s.ngram_max = j.value("ngram_max", s.ngram_max);
  s.validate(where);
  return s;
}

nlohmann::json FeaturizerSpec::to_json() const {
  return {{"kind", kind}, {"rows", rows}, {"ngram_min", ngram_min}, {"ngram_max", ngram_max}};
}

std::vector<int64_t> hashed_ids(const FeaturizerSpec& spec, const std::string& text) {
  MOE_CHECK(spec.learned(), "hashed_ids: the '{}' featurizer has no hashed table", spec.kind);
  const uint64_t rows = static_cast<uint64_t>(spec.rows);
  std::vector<int64_t> ids;
  for (const std::string& w : split_words(text)) {
    if (spec.kind == "word") {
      ids.push_back(static_cast<int64_t>(fnv1a64(w) % rows));
      continue;
    }
    // n-grams over bytes of "<word>"; a multi-byte letter may be cut, which only changes
    // which row a gram hashes to, the same way every time.
    const std::string s = "<" + w + ">";
    for (int64_t n = spec.ngram_min; n <= spec.ngram_max; ++n)
      for (size_t i = 0; i + static_cast<size_t>(n) <= s.size(); ++i)
        ids.push_back(static_cast<int64_t>(fnv1a64(s.substr(i, static_cast<size_t>(n))) % rows));
  }
  return ids;
}

std::vector<double> letter_feature(const std::string& text, int64_t dim) {
  MOE_CHECK(dim >= 26, "letter_feature: dim must be >= 26, got {}", dim);
  std::vector<double> f = letter_frequencies(text);
  f.resize(static_cast<size_t>(dim), 0.0);
  return f;
}

}  // namespace moe::data
