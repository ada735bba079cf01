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

#include "moe/data/tokenizer.h"

namespace moe::data {

// UTF-8 -> code points, ill-formed input replaced as described above.
std::vector<char32_t> utf8_decode(std::string_view text);
// Appends the UTF-8 encoding of `cp` (a Unicode scalar value) to `out`.
void utf8_append(std::string& out, char32_t cp);
// The length (1-4) of the well-formed UTF-8 sequence starting at text[i]; 0 when the
// bytes there are ill-formed (Unicode 15, table 3-7). Requires i < text.size().
int utf8_sequence_length(std::string_view text, size_t i);

class CharTokenizer final : public Tokenizer {
 public:
  static constexpr int64_t kUnkId = 0;
  static constexpr char32_t kReplacement = 0xFFFD;

  // The vocabulary of `text`: its distinct code points, sorted.
  static CharTokenizer build(std::string_view text);
  // `chars`: the code points of ids 1..N, strictly increasing Unicode scalar values.
  // `origin` names the source in errors.
  explicit CharTokenizer(std::vector<char32_t> chars, const std::string& origin = "CharTokenizer");

  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(chars_.size()) + 1; }
  std::string kind() const override { return "char"; }
  const std::vector<char32_t>& chars() const { return chars_; }  // ids 1..N

  std::string to_json() const override;
  static CharTokenizer from_json(const std::string& text, const std::string& origin);

 private:
  std::vector<char32_t> chars_;
  std::unordered_map<char32_t, int64_t> ids_;
};

}  // namespace moe::data
