// data/tokenizer.h: the tokenizer interface the language models train, evaluate and
// generate through, the run config's "tokenizer" object, and loading any tokenizer
// from its tokenizer.json.
//
// Two kinds exist: "char" (CharTokenizer: one id per Unicode code point of the
// training text, <unk> for the rest) and "bpe" (BpeTokenizer: sentencepiece byte-pair
// encoding with byte fallback; decode(encode(x)) == x for any bytes). A tokenizer.json
// is a JSON object whose "kind" names which; the rest of it belongs to that kind.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "moe/io/config.h"

namespace moe::data {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int64_t> encode(std::string_view text) const = 0;
  // Ids outside [0, vocab_size()) are an error.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual std::string kind() const = 0;  // "char" | "bpe"
  virtual std::string to_json() const = 0;
};

// Reads the "kind" of `json` and loads that tokenizer; `origin` names the source in errors.
std::unique_ptr<Tokenizer> tokenizer_from_json(const std::string& json, const std::string& origin);

// The run config's "tokenizer" object: {"kind": "char"} or {"kind": "bpe", "vocab_size": N}.
struct TokenizerSpec {
  std::string kind = "char";
  int64_t vocab_size = 0;  // bpe only: the number of pieces to train, bytes and <unk> included
  std::string file;        // a tokenizer.json made before (moe tokenizer train): used as is, not trained

  static TokenizerSpec parse(io::ConfigReader& r);
  nlohmann::json to_json() const;
};

// A new tokenizer of kind `spec.kind` fitted to `text` (for bpe: trained with sentencepiece),
// or the one in `spec.file` (its kind must match).
std::unique_ptr<Tokenizer> build_tokenizer(const TokenizerSpec& spec, std::string_view text);

}  // namespace moe::data
