// data/char_tokenizer.cpp: UTF-8 decoding with U+FFFD replacement and the char tokenizer.
#include "moe/data/char_tokenizer.h"

#include <algorithm>

#include "moe/core/error.h"
#include "moe/io/config.h"

namespace moe::data {

namespace {

bool is_scalar_value(int64_t cp) { return cp >= 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF); }

// The valid range of the first continuation byte after lead byte `b0` (Unicode 15,
// table 3-7, "Well-Formed UTF-8 Byte Sequences"); later continuations are 80..BF.
// Returns the sequence length, 0 for a byte that cannot start a sequence.
int lead_info(unsigned char b0, unsigned char& lo, unsigned char& hi) {
  lo = 0x80, hi = 0xBF;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return 2;
  if (b0 == 0xE0) return lo = 0xA0, 3;  // no overlong forms
  if (b0 == 0xED) return hi = 0x9F, 3;  // no surrogates
  if (b0 >= 0xE1 && b0 <= 0xEF) return 3;
  if (b0 == 0xF0) return lo = 0x90, 4;  // no overlong forms
  if (b0 == 0xF4) return hi = 0x8F, 4;  // nothing above U+10FFFF
  if (b0 >= 0xF1 && b0 <= 0xF3) return 4;
  return 0;  // 80..C1 (continuations, overlong 2-byte leads), F5..FF
}

}  // namespace

std::vector<char32_t> utf8_decode(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char lo, hi;
    const int len = lead_info(s[i], lo, hi);
    if (len == 1) {
      out.push_back(s[i++]);
      continue;
    }
    if (len == 0) {
      out.push_back(CharTokenizer::kReplacement);
      ++i;
      continue;
    }
    char32_t cp = s[i] & (0xFF >> (len + 1));
    size_t j = i + 1;
    bool ok = true;
    for (int k = 1; k < len; ++k, ++j) {
      const unsigned char lo_k = k == 1 ? lo : 0x80, hi_k = k == 1 ? hi : 0xBF;
      if (j >= n || s[j] < lo_k || s[j] > hi_k) {
        ok = false;  // the maximal subpart s[i, j) becomes one U+FFFD; s[j] is decoded afresh
        break;
      }
      cp = (cp << 6) | (s[j] & 0x3F);
    }
    out.push_back(ok ? cp : CharTokenizer::kReplacement);
    i = j;
  }
  return out;
}

int utf8_sequence_length(std::string_view text, size_t i) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  unsigned char lo, hi;
  const int len = lead_info(s[i], lo, hi);
  if (len == 0 || i + len > text.size()) return 0;
  for (int k = 1; k < len; ++k)
    if (s[i + k] < (k == 1 ? lo : 0x80) || s[i + k] > (k == 1 ? hi : 0xBF)) return 0;
  return len;
}

void utf8_append(std::string& out, char32_t cp) {
  MOE_CHECK(is_scalar_value(cp), "utf8_append: U+{:X} is not a Unicode scalar value", static_cast<uint32_t>(cp));
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

CharTokenizer CharTokenizer::build(std::string_view text) {
  std::vector<char32_t> cps = utf8_decode(text);
  std::sort(cps.begin(), cps.end());
  cps.erase(std::unique(cps.begin(), cps.end()), cps.end());
  return CharTokenizer(std::move(cps));
}

CharTokenizer::CharTokenizer(std::vector<char32_t> chars, const std::string& origin) : chars_(std::move(chars)) {
  for (size_t i = 0; i < chars_.size(); ++i) {
    MOE_CHECK(is_scalar_value(chars_[i]), "{}: chars[{}] = {} is not a Unicode scalar value", origin, i,
              static_cast<uint32_t>(chars_[i]));
    MOE_CHECK(i == 0 || chars_[i - 1] < chars_[i],
              "{}: chars must be strictly increasing code points, but chars[{}] = {} follows {}", origin, i,
              static_cast<uint32_t>(chars_[i]), static_cast<uint32_t>(chars_[i - 1]));
    ids_.emplace(chars_[i], static_cast<int64_t>(i) + 1);
  }
}

std::vector<int64_t> CharTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  for (char32_t cp : utf8_decode(text)) {
    auto it = ids_.find(cp);
    ids.push_back(it == ids_.end() ? kUnkId : it->second);
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    MOE_CHECK(id >= 0 && id < vocab_size(),
              "CharTokenizer::decode: id {} at position {} is outside the vocabulary [0, {})", id, i, vocab_size());
    utf8_append(out, id == kUnkId ? kReplacement : chars_[id - 1]);
  }
  return out;
}

std::string CharTokenizer::to_json() const {
  // Written by hand for a stable one-line layout: {"kind": "char", "chars": [10, 32]}
  std::string out = "{\"kind\": \"char\", \"chars\": [";
  for (size_t i = 0; i < chars_.size(); ++i) out += (i ? ", " : "") + std::to_string(static_cast<uint32_t>(chars_[i]));
  return out + "]}\n";
}

CharTokenizer CharTokenizer::from_json(const std::string& text, const std::string& origin) {
  io::ConfigReader r = io::ConfigReader::from_string(text, origin);
  const auto kind = r.require<std::string>("kind");
  MOE_CHECK(kind == "char", "{}: expected \"char\", got \"{}\"", r.where("kind"), kind);
  const auto cps = r.require<std::vector<int64_t>>("chars");
  r.finish();
  std::vector<char32_t> chars;
  for (size_t i = 0; i < cps.size(); ++i) {
    MOE_CHECK(is_scalar_value(cps[i]), "{}: chars[{}] = {} is not a Unicode scalar value", origin, i, cps[i]);
    chars.push_back(static_cast<char32_t>(cps[i]));
  }
  return CharTokenizer(std::move(chars), origin);
}

}  // namespace moe::data
