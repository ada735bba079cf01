// data/bpe_tokenizer.h: a byte-pair-encoding tokenizer trained and run by Debian's
// sentencepiece (libsentencepiece), exact on any input bytes.
//
// Vocabulary: id 0 is <unk>, ids 1..256 are the byte pieces <0x00>..<0xFF>, then the
// merged pieces and the single characters of the training text, vocab_size in all.
// Training: model_type=bpe, byte_fallback, character_coverage 1.0, split_digits, no
// normalization (identity rule, whitespace kept as is, no dummy prefix), whitespace-only
// pieces allowed (code indentation), one thread; the text is fed line by line, each line
// with its '\n', so pieces never continue past a newline.
//
// Exactness: sentencepiece itself would turn ill-formed UTF-8 into U+FFFD and a literal
// U+2581 ("▁", its internal space) into a space. encode() therefore gives those bytes
// their byte pieces directly and hands sentencepiece only well-formed text without
// U+2581; decode() maps ids to bytes itself (a byte piece is its byte, "▁" is a space,
// <unk> is U+FFFD), so decode(encode(x)) == x for every byte string x and decoding one
// token at a time concatenates to the same bytes.
//
// Saved as tokenizer.json: {"kind": "bpe", "vocab_size": N, "model": "<base64>"}, the
// base64 of sentencepiece's serialized ModelProto, so a checkpoint directory needs no
// other file.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "moe/data/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace moe::data {

class BpeTokenizer final : public Tokenizer {
 public:
  static constexpr int64_t kUnkId = 0;
  // Byte pieces, <unk>, and at least one more.
  static constexpr int64_t kMinVocabSize = 258;

  // Trains on `text` (any bytes; the parts sentencepiece cannot take are left out of
  // training and always encode as byte pieces). Deterministic: the same text and size
  // give the same pieces. `origin` names the text in errors.
  static BpeTokenizer train(std::string_view text, int64_t vocab_size, const std::string& origin = "training text");
  // `model_proto`: a serialized sentencepiece ModelProto trained as above.
  static BpeTokenizer from_model_proto(std::string model_proto, const std::string& origin);
  static BpeTokenizer from_json(const std::string& json, const std::string& origin);

  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_bytes_.size()); }
  std::string kind() const override { return "bpe"; }
  std::string to_json() const override;

  // The piece of each id as sentencepiece writes it ("▁def", "<0x0A>", "<unk>").
  std::vector<std::string> pieces() const;
  const std::string& model_proto() const { return model_proto_; }

 private:
  BpeTokenizer() = default;

  std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor_;  // immutable, shared by copies
  std::string model_proto_;
  std::array<int64_t, 256> byte_ids_{};   // byte -> the id of its byte piece
  std::vector<std::string> id_bytes_;     // id -> the bytes decode() writes for it
};

}  // namespace moe::data
