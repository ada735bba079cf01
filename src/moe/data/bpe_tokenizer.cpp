// data/bpe_tokenizer.cpp: sentencepiece BPE training, exact byte-level encode/decode,
// and the base64 tokenizer.json.
#include "moe/data/bpe_tokenizer.h"

#include <fmt/core.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <unordered_map>

#include "moe/core/error.h"
#include "moe/data/char_tokenizer.h"
#include "moe/io/config.h"

namespace moe::data {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, sentencepiece's space
constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";  // U+FFFD
// sentencepiece skips training sentences longer than max_sentence_length bytes; lines
// are cut into chunks of at most kChunkBytes (at character boundaries) below that.
constexpr size_t kChunkBytes = 4096;
constexpr size_t kMaxSentenceBytes = 2 * kChunkBytes;

// The length of the run of text at `i` that sentencepiece may see: well-formed UTF-8
// without U+2581, ending after the first '\n' (no piece continues past a newline, so
// encoding line by line equals encoding the whole text, with bounded work per call).
size_t plain_run_length(std::string_view text, size_t i) {
  size_t j = i;
  while (j < text.size()) {
    const int len = utf8_sequence_length(text, j);
    if (len == 0 || text.substr(j, len) == kSpaceMark) break;
    j += len;
    if (text[j - 1] == '\n') break;
  }
  return j - i;
}

// The bytes at `i` that bypass sentencepiece: one ill-formed byte, or a U+2581.
size_t special_length(std::string_view text, size_t i) {
  const int len = utf8_sequence_length(text, i);
  return len == 0 ? 1 : static_cast<size_t>(len);
}

// Training sentences: the plain runs of `text`, cut to at most kChunkBytes.
std::vector<std::string_view> training_sentences(std::string_view text) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < text.size();) {
    const size_t run = plain_run_length(text, i);
    if (run == 0) {
      i += special_length(text, i);
      continue;
    }
    for (size_t end = i + run; i < end;) {
      size_t n = std::min(kChunkBytes, end - i);
      while (i + n < end && n > 0 && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) --n;  // char boundary
      out.push_back(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

class SentenceList final : public sentencepiece::SentenceIterator {
 public:
  explicit SentenceList(const std::vector<std::string_view>& sentences) : sentences_(sentences) { load(); }
  bool done() const override { return index_ >= sentences_.size(); }
  void Next() override {
    ++index_;
    load();
  }
  const std::string& value() const override { return current_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void load() {
    if (!done()) current_.assign(sentences_[index_]);
  }
  const std::vector<std::string_view>& sentences_;
  size_t index_ = 0;
  std::string current_;
};

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// RFC 4648, section 4 (with padding).
std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0);
    for (size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kBase64Alphabet[(v >> (18 - 6 * k)) & 63] : '=');
  }
  return out;
}

std::string base64_decode(std::string_view text, const std::string& where) {
  MOE_CHECK(text.size() % 4 == 0, "{}: not valid base64: its length {} is not a multiple of 4", where, text.size());
  int8_t value_of[256];
  std::fill(std::begin(value_of), std::end(value_of), int8_t{-1});
  for (int k = 0; k < 64; ++k) value_of[static_cast<unsigned char>(kBase64Alphabet[k])] = static_cast<int8_t>(k);
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const unsigned char c = static_cast<unsigned char>(text[i + k]);
      const int d = k >= 4 - pad ? 0 : value_of[c];
      MOE_CHECK(d >= 0, "{}: not valid base64: character '{}' at offset {}", where, static_cast<char>(c), i + k);
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    for (int k = 0; k < 3 - pad; ++k) out.push_back(static_cast<char>((v >> (16 - 8 * k)) & 0xFF));
  }
  return out;
}

}  // namespace

BpeTokenizer BpeTokenizer::train(std::string_view text, int64_t vocab_size, const std::string& origin) {
  MOE_CHECK(vocab_size >= kMinVocabSize,
            "bpe tokenizer: vocab_size must be at least {} (256 byte pieces, <unk> and one more), got {}",
            kMinVocabSize, vocab_size);
  const std::vector<std::string_view> sentences = training_sentences(text);
  MOE_CHECK(!sentences.empty(), "bpe tokenizer: {} has no text to train on", origin);
  const std::unordered_map<std::string, std::string> spec = {
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(vocab_size)},
      {"byte_fallback", "true"},
      {"character_coverage", "1.0"},
      {"split_digits", "true"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"unk_id", "0"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_id", "-1"},
      {"num_threads", "1"},
      {"max_sentence_length", std::to_string(kMaxSentenceBytes)},
      {"input_sentence_size", "0"},  // every sentence, no sampling
      {"shuffle_input_sentence", "false"},
      {"minloglevel", "2"},  // errors only; they come back in the status too
  };
  // sentencepiece's one random generator; BPE over every sentence does not draw from
  // it, fixed so that no version of the library can make training vary.
  sentencepiece::SetRandomGeneratorSeed(20240101u);
  SentenceList it(sentences);
  std::string model_proto;
  const sentencepiece::util::Status st = sentencepiece::SentencePieceTrainer::Train(spec, &it, &model_proto);
  MOE_CHECK(st.ok(), "bpe tokenizer: sentencepiece could not train {} pieces on {}: {}", vocab_size, origin,
            st.ToString());
  return from_model_proto(std::move(model_proto), origin + " (trained model)");
}

BpeTokenizer BpeTokenizer::from_model_proto(std::string model_proto, const std::string& origin) {
  auto processor = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const sentencepiece::util::Status st = processor->LoadFromSerializedProto(model_proto);
  MOE_CHECK(st.ok(), "{}: not a sentencepiece model: {}", origin, st.ToString());
  const int n = processor->GetPieceSize();
  MOE_CHECK(processor->unk_id() == kUnkId, "{}: <unk> has id {}, expected {}", origin, processor->unk_id(), kUnkId);
  BpeTokenizer tok;
  tok.id_bytes_.resize(n);
  std::vector<bool> is_byte(n, false);
  for (int b = 0; b < 256; ++b) {
    const std::string piece = fmt::format("<0x{:02X}>", b);
    const int id = processor->PieceToId(piece);
    MOE_CHECK(id >= 0 && id < n && processor->IsByte(id),
              "{}: the model has no byte piece {} (it must be trained with byte_fallback)", origin, piece);
    tok.byte_ids_[b] = id;
    tok.id_bytes_[id] = std::string(1, static_cast<char>(b));
    is_byte[id] = true;
  }
  for (int id = 0; id < n; ++id) {
    if (is_byte[id]) continue;
    if (processor->IsUnknown(id)) {
      tok.id_bytes_[id] = kReplacementUtf8;
    } else if (!processor->IsControl(id)) {
      const std::string& piece = processor->IdToPiece(id);
      std::string& out = tok.id_bytes_[id];
      for (size_t i = 0; i < piece.size();) {
        const bool mark = piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0;
        out += mark ? std::string_view(" ") : std::string_view(piece).substr(i, 1);
        i += mark ? kSpaceMark.size() : 1;
      }
    }
  }
  tok.processor_ = std::move(processor);
  tok.model_proto_ = std::move(model_proto);
  // A model trained with normalization or a dummy prefix would not give back its input.
  const std::string probe = "  a  \xEF\xAC\x81\t\n x";  // U+FB01 (fi ligature) changes under NFKC
  MOE_CHECK(tok.decode(tok.encode(probe)) == probe,
            "{}: the model changes text when encoding (trained with normalization, whitespace removal or a "
            "dummy prefix); moe needs exact BPE models",
            origin);
  return tok;
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 3);
  std::vector<int> piece_ids;
  for (size_t i = 0; i < text.size();) {
    const size_t run = plain_run_length(text, i);
    if (run > 0) {
      const sentencepiece::util::Status st = processor_->Encode(text.substr(i, run), &piece_ids);
      MOE_CHECK(st.ok(), "BpeTokenizer::encode: sentencepiece failed at byte {}: {}", i, st.ToString());
      ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
      i += run;
      continue;
    }
    for (size_t end = i + special_length(text, i); i < end; ++i)
      ids.push_back(byte_ids_[static_cast<unsigned char>(text[i])]);
  }
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size() * 3);
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    MOE_CHECK(id >= 0 && id < vocab_size(),
              "BpeTokenizer::decode: id {} at position {} is outside the vocabulary [0, {})", id, i, vocab_size());
    out += id_bytes_[id];
  }
  return out;
}

std::string BpeTokenizer::to_json() const {
  // Written by hand so the small keys come first: {"kind": "bpe", "vocab_size": N, "model": "..."}
  return fmt::format("{{\"kind\": \"bpe\", \"vocab_size\": {}, \"model\": \"{}\"}}\n", vocab_size(),
                     base64_encode(model_proto_));
}

BpeTokenizer BpeTokenizer::from_json(const std::string& json, const std::string& origin) {
  io::ConfigReader r = io::ConfigReader::from_string(json, origin);
  const auto kind = r.require<std::string>("kind");
  MOE_CHECK(kind == "bpe", "{}: expected \"bpe\", got \"{}\"", r.where("kind"), kind);
  const auto vocab_size = r.require<int64_t>("vocab_size");
  const auto model = r.require<std::string>("model");
  r.finish();
  BpeTokenizer tok = from_model_proto(base64_decode(model, r.where("model")), origin);
  MOE_CHECK(tok.vocab_size() == vocab_size, "{}: vocab_size is {} but the model has {} pieces", r.where("vocab_size"),
            vocab_size, tok.vocab_size());
  return tok;
}

std::vector<std::string> BpeTokenizer::pieces() const {
  std::vector<std::string> out;
  for (int id = 0; id < static_cast<int>(vocab_size()); ++id) out.push_back(processor_->IdToPiece(id));
  return out;
}

}  // namespace moe::data
