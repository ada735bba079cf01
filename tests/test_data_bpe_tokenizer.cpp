// BpeTokenizer: sentencepiece BPE training is deterministic and gives the requested
// vocabulary; decode(encode(x)) == x for arbitrary bytes (ill-formed UTF-8, NULs, tabs,
// sentencepiece's own U+2581) and arbitrary Unicode; tokenizer.json round trips to the
// same encodings; broken files are refused naming their origin; the "tokenizer" config
// object and tokenizer_from_json choose the kind.
#include <gtest/gtest.h>

#include "moe/core/error.h"
#include "moe/core/rng.h"
#include "moe/data/bpe_tokenizer.h"
#include "moe/data/char_tokenizer.h"
#include "moe/data/tokenizer.h"
#include "moe/io/atomic_file.h"
#include "moe/io/config.h"
#include "test_util.h"

using namespace moe;
using namespace moe::data;
using moe::test::expect_error;

namespace {

// About 30 KB of Python-like code: indentation, digits, repeated identifiers.
std::string code_text() {
  const char* names[] = {"parse", "value", "count", "buffer", "reader", "token", "index", "result"};
  std::string out;
  for (int i = 0; i < 120; ++i) {
    const std::string a = names[i % 8], b = names[(i * 3 + 1) % 8];
    out += "def " + a + "_" + b + "_" + std::to_string(i) + "(" + a + ", " + b + "=" + std::to_string(i % 10) + "):\n";
    out += "    \"\"\"Return the " + a + " of " + b + ".\"\"\"\n";
    out += "    if " + a + " is None:\n        return " + std::to_string(i * 37) + "\n";
    out += "    for item in range(" + b + "):\n        " + a + " = " + a + " + item * " + std::to_string(i % 7) + "\n";
    out += "    return " + a + "\n\n";
  }
  return out;
}

// One tokenizer for the tests that only read it (training takes tens of milliseconds).
const BpeTokenizer& code_tokenizer() {
  static const BpeTokenizer tok = BpeTokenizer::train(code_text(), 400);
  return tok;
}

// Random bytes from a fixed generator: mostly anything, with runs of ASCII code between.
std::string random_bytes(Rng& rng, size_t n) {
  std::string out;
  const std::string ascii = "def f(x):\n    return x + 1\n";
  while (out.size() < n) {
    if (rng.uniform() < 0.3) {
      out += ascii.substr(0, 1 + static_cast<size_t>(rng.uniform() * (ascii.size() - 1)));
    } else {
      out.push_back(static_cast<char>(static_cast<int>(rng.uniform() * 256) & 0xFF));
    }
  }
  return out;
}

// Random well-formed UTF-8 over every plane, with sentencepiece's special characters.
std::string random_unicode(Rng& rng, size_t chars) {
  const char32_t specials[] = {0x2581, 0x2585, 0x2586, 0xFFFD, 0x0000, 0x0009, 0x000A, 0x0020, 0x00A0, 0x3000};
  std::string out;
  for (size_t i = 0; i < chars; ++i) {
    const double u = rng.uniform();
    char32_t cp;
    if (u < 0.2) {
      cp = specials[static_cast<size_t>(rng.uniform() * std::size(specials)) % std::size(specials)];
    } else if (u < 0.6) {
      cp = 0x20 + static_cast<char32_t>(rng.uniform() * 0x5F);
    } else {
      do cp = static_cast<char32_t>(rng.uniform() * 0x110000);
      while (cp >= 0xD800 && cp <= 0xDFFF);
    }
    utf8_append(out, cp);
  }
  return out;
}

}  // namespace

TEST(BpeTokenizer, TrainingIsDeterministicAndGivesTheRequestedVocabulary) {
  const std::string text = code_text();
  BpeTokenizer again = BpeTokenizer::train(text, 400);
  EXPECT_EQ(code_tokenizer().vocab_size(), 400);
  EXPECT_EQ(again.pieces(), code_tokenizer().pieces());
  EXPECT_EQ(again.model_proto(), code_tokenizer().model_proto());
  const auto pieces = again.pieces();
  ASSERT_EQ(pieces.size(), 400u);
  EXPECT_EQ(pieces[0], "<unk>");
  for (int b = 0; b < 256; ++b) EXPECT_EQ(pieces[1 + b], fmt::format("<0x{:02X}>", b));
  // Code pieces: keywords, whole indentation levels; split_digits keeps numbers apart.
  auto has = [&](const std::string& p) { return std::find(pieces.begin(), pieces.end(), p) != pieces.end(); };
  EXPECT_TRUE(has("return"));
  EXPECT_TRUE(has("\xE2\x96\x81\xE2\x96\x81\xE2\x96\x81\xE2\x96\x81"));  // four spaces
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (const auto& p : pieces) EXPECT_FALSE(p.size() > 1 && digit(p[0]) && digit(p[1])) << p;
  EXPECT_EQ(BpeTokenizer::train(text, 320).vocab_size(), 320);
}

TEST(BpeTokenizer, CompressesItsTrainingText) {
  const std::string text = code_text();
  const auto ids = code_tokenizer().encode(text);
  EXPECT_EQ(code_tokenizer().decode(ids), text);
  EXPECT_GT(static_cast<double>(text.size()) / static_cast<double>(ids.size()), 3.0);
}

TEST(BpeTokenizer, RoundTripsArbitraryBytes) {
  const BpeTokenizer& tok = code_tokenizer();
  const std::vector<std::string> cases = {
      "",
      std::string("\0", 1),
      std::string("a\0b\0\0", 5),
      "\xFF\xFE\x80",                                     // never valid in UTF-8
      "\xC3",                                             // truncated sequence at the end
      "\xE2\x96 x",                                       // truncated U+2581
      "\xED\xA0\x80",                                     // a surrogate, ill-formed
      "\xC0\xAF",                                         // overlong '/'
      "\xE2\x96\x81",                                     // U+2581 itself
      " \xE2\x96\x81 \xE2\x96\x81\xE2\x96\x81  ",          // U+2581 among spaces
      "\t\tdef f():\r\n\treturn 1\n",
      "    return value  \n\n   \n",
      "\xEF\xBB\xBF# coding: utf-8 \xC3\xA9t\xC3\xA9 \xF0\x9F\x90\x8B \xE2\x96\x85",
  };
  for (const auto& s : cases) {
    const auto ids = tok.encode(s);
    EXPECT_EQ(tok.decode(ids), s) << "case of " << s.size() << " bytes";
    for (int64_t id : ids) EXPECT_NE(id, BpeTokenizer::kUnkId);
    std::string one_by_one;
    for (int64_t id : ids) one_by_one += tok.decode({id});
    EXPECT_EQ(one_by_one, s);
  }
  Rng rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const std::string bytes = random_bytes(rng, 500);
    EXPECT_EQ(tok.decode(tok.encode(bytes)), bytes) << "random bytes, trial " << trial;
    const std::string unicode = random_unicode(rng, 300);
    EXPECT_EQ(tok.decode(tok.encode(unicode)), unicode) << "random Unicode, trial " << trial;
  }
}

TEST(BpeTokenizer, TrainsOnTextThatSentencepieceCannotTakeWhole) {
  // Ill-formed bytes, NULs, U+2581 and a line longer than sentencepiece's sentence limit.
  Rng rng(3);
  std::string text = code_text() + random_bytes(rng, 3000) + std::string(10000, 'x') + "\n" +
                     random_unicode(rng, 2000);
  // character_coverage 1.0: every character of the text (about 830 here) gets a piece.
  BpeTokenizer tok = BpeTokenizer::train(text, 1100);
  EXPECT_EQ(tok.vocab_size(), 1100);
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
  EXPECT_EQ(tok.pieces(), BpeTokenizer::train(text, 1100).pieces());
  expect_error([&] { BpeTokenizer::train(text, 600); }, {"600", "required_chars"});
}

TEST(BpeTokenizer, JsonRoundTripGivesIdenticalEncodings) {
  const BpeTokenizer& tok = code_tokenizer();
  const std::string json = tok.to_json();
  EXPECT_EQ(json.rfind("{\"kind\": \"bpe\", \"vocab_size\": 400, \"model\": \"", 0), 0u) << json.substr(0, 80);
  BpeTokenizer back = BpeTokenizer::from_json(json, "tokenizer.json");
  EXPECT_EQ(back.pieces(), tok.pieces());
  EXPECT_EQ(back.model_proto(), tok.model_proto());
  EXPECT_EQ(back.to_json(), json);
  Rng rng(11);
  const std::string text = code_text() + random_bytes(rng, 2000) + random_unicode(rng, 500);
  EXPECT_EQ(back.encode(text), tok.encode(text));

  std::unique_ptr<Tokenizer> any = tokenizer_from_json(json, "tokenizer.json");
  EXPECT_EQ(any->kind(), "bpe");
  EXPECT_EQ(any->vocab_size(), 400);
  EXPECT_EQ(any->encode(text), tok.encode(text));
  std::unique_ptr<Tokenizer> chars = tokenizer_from_json(CharTokenizer::build("abc").to_json(), "c.json");
  EXPECT_EQ(chars->kind(), "char");
  EXPECT_EQ(chars->vocab_size(), 4);
}

TEST(BpeTokenizer, BrokenFilesAreRefusedNamingTheOrigin) {
  const std::string json = code_tokenizer().to_json();
  const auto model_at = json.find("\"model\": \"") + 10;
  auto with_model = [&](const std::string& model) {
    return "{\"kind\": \"bpe\", \"vocab_size\": 400, \"model\": \"" + model + "\"}";
  };
  auto load = [](const std::string& text) { return [text] { BpeTokenizer::from_json(text, "tok.json"); }; };
  expect_error(load(with_model("abc")), {"tok.json", "model", "base64", "multiple of 4"});
  expect_error(load(with_model("ab$d")), {"tok.json", "model", "base64", "'$'", "offset 2"});
  expect_error(load(with_model("ab=d")), {"tok.json", "base64"});
  expect_error(load(with_model("")), {"tok.json", "not a sentencepiece model"});
  expect_error(load(with_model("AAAAAAAAAAAA")), {"tok.json", "not a sentencepiece model"});
  std::string truncated = json;
  truncated.erase(model_at + 400, truncated.find('"', model_at) - model_at - 400);
  expect_error(load(truncated), {"tok.json"});
  std::string wrong_size = json;
  wrong_size.replace(wrong_size.find("400"), 3, "401");
  expect_error(load(wrong_size), {"tok.json", "vocab_size", "401", "400 pieces"});
  expect_error(load("{\"kind\": \"bpe\", \"vocab_size\": 400}"), {"tok.json", "model", "missing"});
  expect_error(load("{\"kind\": \"char\", \"chars\": []}"), {"tok.json", "kind", "char"});
  expect_error(load(json.substr(0, json.size() - 2) + ", \"x\": 1}"), {"tok.json", "unknown key", "x"});
  expect_error([] { tokenizer_from_json("{\"kind\": \"wordpiece\"}", "t.json"); }, {"t.json", "kind", "wordpiece"});
  expect_error([] { tokenizer_from_json("{\"chars\": []}", "t.json"); }, {"t.json", "kind", "missing"});
}

TEST(BpeTokenizer, BadTrainingRequestsAreClearErrors) {
  expect_error([] { BpeTokenizer::train(code_text(), 100); }, {"vocab_size", "at least 258", "100"});
  expect_error([] { BpeTokenizer::train("ab\nab\n", 5000, "small.txt"); }, {"small.txt", "5000"});
  expect_error([] { BpeTokenizer::train("\xFF\xFF", 300, "junk.bin"); }, {"junk.bin", "no text"});
  const BpeTokenizer& tok = code_tokenizer();
  expect_error([&] { tok.decode({1, 400}); }, {"decode", "400", "position 1", "[0, 400)"});
  expect_error([&] { tok.decode({-1}); }, {"decode", "-1"});
  EXPECT_EQ(tok.decode({BpeTokenizer::kUnkId}), "\xEF\xBF\xBD");  // sampled <unk> shows as U+FFFD
}

TEST(TokenizerSpec, ParsesCharAndBpeAndRefusesTheRest) {
  auto parse = [](const std::string& text) {
    io::ConfigReader r = io::ConfigReader::from_string(text, "run.json");
    return TokenizerSpec::parse(r);
  };
  EXPECT_EQ(parse("{}").kind, "char");
  EXPECT_EQ(parse("{\"kind\": \"char\"}").to_json(), nlohmann::json({{"kind", "char"}}));
  TokenizerSpec bpe = parse("{\"kind\": \"bpe\", \"vocab_size\": 1024}");
  EXPECT_EQ(bpe.kind, "bpe");
  EXPECT_EQ(bpe.vocab_size, 1024);
  EXPECT_EQ(bpe.to_json(), nlohmann::json({{"kind", "bpe"}, {"vocab_size", 1024}}));
  expect_error([&] { parse("{\"kind\": \"bpe\"}"); }, {"run.json", "vocab_size", "missing"});
  expect_error([&] { parse("{\"kind\": \"bpe\", \"vocab_size\": 100}"); }, {"run.json", "vocab_size", "258"});
  expect_error([&] { parse("{\"kind\": \"char\", \"vocab_size\": 300}"); }, {"run.json", "unknown key", "vocab_size"});
  expect_error([&] { parse("{\"kind\": \"unigram\"}"); }, {"run.json", "kind", "unigram"});
  expect_error([&] { parse("{\"kind\": \"bpe\", \"vocab_size\": 300, \"merges\": 2}"); }, {"run.json", "merges"});
}

TEST(TokenizerSpec, FileUsesASavedTokenizer) {
  const std::string path = moe::test::test_tmp_dir() + "/tok.json";
  moe::io::write_file_atomic(path, moe::data::CharTokenizer::build("abc").to_json());
  auto r = moe::io::ConfigReader::from_string(R"({"kind": "char", "file": ")" + path + R"("})", "cfg.json");
  moe::data::TokenizerSpec spec = moe::data::TokenizerSpec::parse(r);
  auto tok = moe::data::build_tokenizer(spec, "completely different text");  // the file wins
  EXPECT_EQ(tok->vocab_size(), 4);
  EXPECT_EQ(spec.to_json()["file"], path);
  spec.kind = "bpe";
  EXPECT_THROW(moe::data::build_tokenizer(spec, "x"), moe::Error);  // kind mismatch
  spec.file = path + ".missing";
  EXPECT_THROW(moe::data::build_tokenizer(spec, "x"), moe::Error);
}
