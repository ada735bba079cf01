// data/char_tokenizer.h: a character-level tokenizer over Unicode code points, for
// the char-level language model.
//
// Text is decoded as UTF-8. Ill-formed bytes become U+FFFD, one per maximal
// subpart of an ill-formed sequence (Unicode 15, section 3.9, "U+FFFD substitution
// of maximal subparts"; what Python's errors="replace" and browsers do).
//
// Vocabulary: id 0 is the reserved "<unk>"; ids 1..N are the distinct code points of
// the training text sorted by code point. encode() maps a character that is not in
// the vocabulary (seen at generation or evaluation time, never in training) to <unk>;
// decode() writes <unk> as U+FFFD. An id outside [0, vocab_size) is an error.
//
// Saved as tokenizer.json: {"kind": "char", "chars": [10, 32, 33, ...]} -- the code
// points of ids 1..N in order, so the file is stable and readable.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moe::data {

// UTF-8 -> code points, ill-formed input replaced as described above.
std::vector<char32_t> utf8_decode(std::string_view text);
// Appends the UTF-8 encoding of `cp` (a Unicode scalar value) to `out`.
void utf8_append(std::string& out, char32_t cp);

class CharTokenizer {
 public:
  static constexpr int64_t kUnkId = 0;
  static constexpr char32_t kReplacement = 0xFFFD;

  // The vocabulary of `text`: its distinct code points, sorted.
  static CharTokenizer build(std::string_view text);
  // `chars`: the code points of ids 1..N, strictly increasing Unicode scalar values.
  // `origin` names the source in errors.
  explicit CharTokenizer(std::vector<char32_t> chars, const std::string& origin = "CharTokenizer");

  std::vector<int64_t> encode(std::string_view text) const;
  std::string decode(const std::vector<int64_t>& ids) const;
  int64_t vocab_size() const { return static_cast<int64_t>(chars_.size()) + 1; }
  const std::vector<char32_t>& chars() const { return chars_; }  // ids 1..N

  std::string to_json() const;
  static CharTokenizer from_json(const std::string& text, const std::string& origin);

 private:
  std::vector<char32_t> chars_;
  std::unordered_map<char32_t, int64_t> ids_;
};

}  // namespace moe::data
