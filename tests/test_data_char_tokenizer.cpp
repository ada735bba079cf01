// CharTokenizer: UTF-8 decoding with U+FFFD replacement (checked against byte
// sequences whose Python errors="replace" decoding is known), round trips of ASCII
// and multi-byte text, <unk> for unseen characters, and the tokenizer.json format.
#include <gtest/gtest.h>

#include <functional>

#include "moe/core/error.h"
#include "moe/data/char_tokenizer.h"
#include "test_util.h"

using namespace moe;
using namespace moe::data;
using moe::test::expect_error;

namespace {

constexpr char32_t R = 0xFFFD;


}  // namespace

TEST(Utf8, DecodesWellFormedText) {
  EXPECT_EQ(utf8_decode("aß"), (std::vector<char32_t>{'a', 0xDF}));
  EXPECT_EQ(utf8_decode("ä—🐋"), (std::vector<char32_t>{0xE4, 0x2014, 0x1F40B}));
  EXPECT_EQ(utf8_decode(std::string("a\0b", 3)), (std::vector<char32_t>{'a', 0, 'b'}));
  EXPECT_EQ(utf8_decode("\xF4\x8F\xBF\xBF"), (std::vector<char32_t>{0x10FFFF}));
}

TEST(Utf8, ReplacesMaximalSubpartsOfIllFormedInput) {
  // Expected values as bytes.decode("utf-8", errors="replace") in Python 3.
  EXPECT_EQ(utf8_decode("\x80"), (std::vector<char32_t>{R}));              // lone continuation
  EXPECT_EQ(utf8_decode("\xFF" "a"), (std::vector<char32_t>{R, 'a'}));     // never-valid byte
  EXPECT_EQ(utf8_decode("\xE2\x82" "a"), (std::vector<char32_t>{R, 'a'}));  // truncated 3-byte: one U+FFFD
  EXPECT_EQ(utf8_decode("\xE2\x82"), (std::vector<char32_t>{R}));          // truncated at the end
  EXPECT_EQ(utf8_decode("\xC0\xAF"), (std::vector<char32_t>{R, R}));       // overlong '/'
  EXPECT_EQ(utf8_decode("\xE0\x80\xAF"), (std::vector<char32_t>{R, R, R}));  // overlong 3-byte
  EXPECT_EQ(utf8_decode("\xED\xA0\x80"), (std::vector<char32_t>{R, R, R}));  // surrogate U+D800
  EXPECT_EQ(utf8_decode("\xF4\x90\x80\x80"), (std::vector<char32_t>{R, R, R, R}));  // above U+10FFFF
  EXPECT_EQ(utf8_decode("\xF0\x9F\x90" "\xC3\xA4"), (std::vector<char32_t>{R, 0xE4}));  // cut emoji, then ä
}

TEST(Utf8, EncodesScalarValuesAndRefusesSurrogates) {
  std::string s;
  for (char32_t cp : {char32_t{'x'}, char32_t{0xE4}, char32_t{0x2014}, char32_t{0x1F40B}}) utf8_append(s, cp);
  EXPECT_EQ(s, "xä—🐋");
  EXPECT_THROW(utf8_append(s, 0xD800), Error);
  EXPECT_THROW(utf8_append(s, 0x110000), Error);
}

TEST(CharTokenizer, VocabularyIsSortedCodePointsAfterUnk) {
  CharTokenizer tok = CharTokenizer::build("hello");
  EXPECT_EQ(tok.vocab_size(), 5);  // <unk>, e, h, l, o
  EXPECT_EQ(tok.chars(), (std::vector<char32_t>{'e', 'h', 'l', 'o'}));
  EXPECT_EQ(tok.encode("hello"), (std::vector<int64_t>{2, 1, 3, 3, 4}));
}

TEST(CharTokenizer, RoundTripsAsciiAndUtf8) {
  const std::string text = "Call me Ishmael. Größe ä ß — 🐋🐳 end\n";
  CharTokenizer tok = CharTokenizer::build(text);
  const auto ids = tok.encode(text);
  EXPECT_EQ(ids.size(), utf8_decode(text).size());  // one id per code point, not per byte
  for (int64_t id : ids) EXPECT_NE(id, CharTokenizer::kUnkId);
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(CharTokenizer, UnknownCharactersBecomeUnkAndDecodeToReplacement) {
  CharTokenizer tok = CharTokenizer::build("abc");
  EXPECT_EQ(tok.encode("aäz🐋c"), (std::vector<int64_t>{1, 0, 0, 0, 3}));
  EXPECT_EQ(tok.decode({1, 0, 3}), "a\xEF\xBF\xBD" "c");
}

TEST(CharTokenizer, InvalidUtf8InTrainingTextBecomesReplacementCharacter) {
  CharTokenizer tok = CharTokenizer::build("a\xFF" "b");
  EXPECT_EQ(tok.chars(), (std::vector<char32_t>{'a', 'b', R}));
  EXPECT_EQ(tok.encode("\xC0"), (std::vector<int64_t>{3}));  // any ill-formed byte is the U+FFFD id
  EXPECT_EQ(tok.decode(tok.encode("a\xFF" "b")), "a\xEF\xBF\xBD" "b");
}

TEST(CharTokenizer, DecodeRefusesIdsOutsideTheVocabulary) {
  CharTokenizer tok = CharTokenizer::build("ab");
  expect_error([&] { tok.decode({1, 3}); }, {"id 3", "position 1", "[0, 3)"});
  expect_error([&] { tok.decode({-1}); }, {"id -1"});
}

TEST(CharTokenizer, JsonRoundTrip) {
  CharTokenizer tok = CharTokenizer::build("Zebra ä 🐋\n");
  const std::string json = tok.to_json();
  EXPECT_EQ(json, "{\"kind\": \"char\", \"chars\": [10, 32, 90, 97, 98, 101, 114, 228, 128011]}\n");
  CharTokenizer back = CharTokenizer::from_json(json, "tokenizer.json");
  EXPECT_EQ(back.chars(), tok.chars());
  EXPECT_EQ(back.to_json(), json);
  EXPECT_EQ(back.encode("bra 🐋"), tok.encode("bra 🐋"));
  EXPECT_EQ(CharTokenizer::from_json(CharTokenizer::build("").to_json(), "t").vocab_size(), 1);
}

TEST(CharTokenizer, MalformedJsonIsRefusedNamingOriginAndProblem) {
  auto load = [](const std::string& text) { return [text] { CharTokenizer::from_json(text, "tok.json"); }; };
  expect_error(load("{\"kind\": \"char\", \"chars\": [1, 2"), {"tok.json", "not valid JSON"});
  expect_error(load("[1, 2]"), {"tok.json", "object"});
  expect_error(load("{\"kind\": \"bpe\", \"chars\": []}"), {"tok.json", "kind", "bpe"});
  expect_error(load("{\"chars\": []}"), {"tok.json", "kind", "missing"});
  expect_error(load("{\"kind\": \"char\"}"), {"tok.json", "chars", "missing"});
  expect_error(load("{\"kind\": \"char\", \"chars\": [1, \"a\"]}"), {"tok.json", "chars", "integers"});
  expect_error(load("{\"kind\": \"char\", \"chars\": [98, 97]}"), {"tok.json", "increasing", "chars[1]"});
  expect_error(load("{\"kind\": \"char\", \"chars\": [97, 97]}"), {"tok.json", "increasing"});
  expect_error(load("{\"kind\": \"char\", \"chars\": [55296]}"), {"tok.json", "chars[0]", "scalar value"});
  expect_error(load("{\"kind\": \"char\", \"chars\": [-1]}"), {"tok.json", "chars[0]"});
  expect_error(load("{\"kind\": \"char\", \"chars\": [1114112]}"), {"tok.json", "chars[0]"});
  expect_error(load("{\"kind\": \"char\", \"chars\": [], \"unk\": 0}"), {"tok.json", "unknown key", "unk"});
}
