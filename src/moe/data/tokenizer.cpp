// data/tokenizer.cpp: choosing a tokenizer by kind, from a config or a tokenizer.json.
#include "moe/data/tokenizer.h"

#include "moe/io/atomic_file.h"

#include "moe/core/error.h"
#include "moe/data/bpe_tokenizer.h"
#include "moe/data/char_tokenizer.h"

namespace moe::data {

std::unique_ptr<Tokenizer> tokenizer_from_json(const std::string& json, const std::string& origin) {
  io::ConfigReader r = io::ConfigReader::from_string(json, origin);
  const auto kind = r.require<std::string>("kind");
  if (kind == "char") return std::make_unique<CharTokenizer>(CharTokenizer::from_json(json, origin));
  if (kind == "bpe") return std::make_unique<BpeTokenizer>(BpeTokenizer::from_json(json, origin));
  throw Error(fmt::format("{}: unknown tokenizer \"{}\" (expected \"char\" or \"bpe\")", r.where("kind"), kind));
}

TokenizerSpec TokenizerSpec::parse(io::ConfigReader& r) {
  TokenizerSpec s;
  s.kind = r.get<std::string>("kind", s.kind);
  s.file = r.get<std::string>("file", "");
  if (s.kind == "bpe" && !s.file.empty()) {
    s.vocab_size = r.get<int64_t>("vocab_size", 0);  // the file's own size is used
  } else if (s.kind == "bpe") {
    s.vocab_size = r.require<int64_t>("vocab_size");
    MOE_CHECK(s.vocab_size >= BpeTokenizer::kMinVocabSize,
              "{}: must be at least {} (256 byte pieces, <unk> and one more), got {}", r.where("vocab_size"),
              BpeTokenizer::kMinVocabSize, s.vocab_size);
  } else {
    MOE_CHECK(s.kind == "char", "{}: unknown tokenizer \"{}\" (expected \"char\" or \"bpe\")", r.where("kind"),
              s.kind);
  }
  r.finish();  // vocab_size with "char" is an unknown key: the char vocabulary is the text's alphabet
  return s;
}

nlohmann::json TokenizerSpec::to_json() const {
  nlohmann::json j = {{"kind", kind}};
  if (kind == "bpe" && vocab_size > 0) j["vocab_size"] = vocab_size;
  if (!file.empty()) j["file"] = file;
  return j;
}

std::unique_ptr<Tokenizer> build_tokenizer(const TokenizerSpec& spec, std::string_view text) {
  if (!spec.file.empty()) {
    std::unique_ptr<Tokenizer> t = tokenizer_from_json(io::read_file(spec.file), spec.file);
    MOE_CHECK(t->kind() == spec.kind, "{}: holds a \"{}\" tokenizer, the config asks for \"{}\"", spec.file, t->kind(),
              spec.kind);
    return t;
  }
  if (spec.kind == "bpe") return std::make_unique<BpeTokenizer>(BpeTokenizer::train(text, spec.vocab_size));
  MOE_CHECK(spec.kind == "char", "build_tokenizer: unknown tokenizer \"{}\"", spec.kind);
  return std::make_unique<CharTokenizer>(CharTokenizer::build(text));
}

}  // namespace moe::data
