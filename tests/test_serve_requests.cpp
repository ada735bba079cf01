// Request validation of `moe serve` without a socket (serve/request_parse.h): defaults,
// every bad-request case with its status and param, and a fuzz loop of random mutations
// of valid bodies that must parse or throw RequestError with a 4xx, never anything else.
// Also the SSE framing, the UTF-8 joiner of byte pieces and the tolerant metrics.jsonl
// reader.
#include <gtest/gtest.h>

#include <fstream>

#include "moe/core/rng.h"
#include "moe/serve/request_parse.h"
#include "moe/serve/run_metrics.h"
#include "moe/serve/served_model.h"
#include "moe/serve/sse.h"
#include "test_util.h"

using namespace moe;
using namespace moe::serve;

namespace {

const Limits kLimits{100, 32};

// The ApiError a body gets, or status 0 when it parses.
template <class Parse>
ApiError error_of(Parse parse, const std::string& body) {
  try {
    parse(body, kLimits);
  } catch (const RequestError& e) {
    return e.error();
  }
  return ApiError{0, "", "", ""};
}

ApiError gen_error(const std::string& body) { return error_of(parse_generate_request, body); }
ApiError cmpl_error(const std::string& body) { return error_of(parse_completion_request, body); }

}  // namespace

TEST(ServeRequests, GenerateDefaultsAndFields) {
  GenerateRequest d = parse_generate_request(R"({"prompt": "hi"})", kLimits);
  EXPECT_EQ(d.prompt, "hi");
  EXPECT_EQ(d.max_tokens, 64);
  EXPECT_EQ(d.sampling.temperature, 1.0);
  EXPECT_EQ(d.sampling.top_k, 0);
  EXPECT_EQ(d.sampling.top_p, 1.0);
  EXPECT_EQ(d.seed, 0u);
  EXPECT_FALSE(d.stream);
  GenerateRequest r = parse_generate_request(
      R"({"prompt": "", "max_tokens": 100, "temperature": 0, "top_k": 3, "top_p": 0.5, "seed": 18446744073709551615,
          "stream": true})",
      kLimits);
  EXPECT_EQ(r.prompt, "");
  EXPECT_EQ(r.max_tokens, 100);
  EXPECT_EQ(r.sampling.temperature, 0.0);
  EXPECT_EQ(r.sampling.top_k, 3);
  EXPECT_EQ(r.sampling.top_p, 0.5);
  EXPECT_EQ(r.seed, 18446744073709551615ull);
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(parse_generate_request(R"({"prompt": "a", "temperature": 2})", kLimits).sampling.temperature, 2.0);
  EXPECT_EQ(parse_generate_request(R"({"prompt": "a"})", Limits{10, 32}).max_tokens, 10);  // default capped by the limit
}

TEST(ServeRequests, GenerateBadRequests) {
  struct Case {
    std::string body;
    int status;
    std::string param;
  };
  const std::vector<Case> cases = {
      {R"({"prompt": "a")", 400, ""},                       // malformed JSON
      {"", 400, ""},                                        // empty body
      {R"(["prompt"])", 400, ""},                           // not an object
      {"{\"prompt\": \"\xff\"}", 400, ""},                  // invalid UTF-8
      {R"({})", 400, "prompt"},                             // missing prompt
      {R"({"prompt": 5})", 400, "prompt"},                  // wrong types
      {R"({"prompt": "a", "max_tokens": "5"})", 400, "max_tokens"},
      {R"({"prompt": "a", "max_tokens": 5.0})", 400, "max_tokens"},
      {R"({"prompt": "a", "max_tokens": -1})", 400, "max_tokens"},
      {R"({"prompt": "a", "max_tokens": 101})", 400, "max_tokens"},  // over the limit
      {R"({"prompt": "a", "max_tokens": 99999999999999999999})", 400, "max_tokens"},
      {R"({"prompt": "a", "temperature": "hot"})", 400, "temperature"},
      {R"({"prompt": "a", "temperature": -0.1})", 400, "temperature"},
      {R"({"prompt": "a", "top_k": -2})", 400, "top_k"},
      {R"({"prompt": "a", "top_k": 1.5})", 400, "top_k"},
      {R"({"prompt": "a", "top_p": 0})", 400, "top_p"},
      {R"({"prompt": "a", "top_p": 1.01})", 400, "top_p"},
      {R"({"prompt": "a", "seed": -1})", 400, "seed"},
      {R"({"prompt": "a", "seed": "1"})", 400, "seed"},
      {R"({"prompt": "a", "stream": 1})", 400, "stream"},
      {R"({"prompt": "a", "stream": null})", 400, "stream"},
      {R"({"prompt": "a", "stop": "\n"})", 400, "stop"},  // unknown field
      {R"({"prompt": "0123456789012345678901234567890123"})", 413, "prompt"},  // 34 bytes > 32
  };
  for (const Case& c : cases) {
    const ApiError e = gen_error(c.body);
    EXPECT_EQ(e.status, c.status) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error") << c.body;
    EXPECT_FALSE(e.message.empty()) << c.body;
    const nlohmann::json j = e.to_json();
    EXPECT_EQ(j["error"]["param"].is_null(), c.param.empty()) << c.body;
  }
  EXPECT_NE(gen_error(R"({"prompt": "a", "stop": 1})").message.find("unknown field 'stop'"), std::string::npos);
  EXPECT_NE(gen_error(R"({"prompt": "a", "max_tokens": 101})").message.find("limit of 100"), std::string::npos);
  EXPECT_NE(gen_error(R"({"prompt": "a", "max_tokens": "5"})").message.find("must be an integer, got a string"),
            std::string::npos);
  EXPECT_EQ(gen_error(R"({"prompt": "01234567890123456789012345678901"})").status, 0);  // exactly 32 bytes
}

TEST(ServeRequests, CompletionsShape) {
  CompletionRequest d = parse_completion_request(R"({"prompt": "x"})", kLimits);
  EXPECT_EQ(d.max_tokens, 16);
  EXPECT_FALSE(d.seed.has_value());
  CompletionRequest r = parse_completion_request(
      R"({"prompt": "x", "model": "gpt-whatever", "n": 1, "seed": 4, "max_tokens": 3, "temperature": 0.5,
          "top_p": 0.9, "stream": true})",
      kLimits);
  EXPECT_EQ(r.seed.value(), 4u);
  EXPECT_EQ(r.max_tokens, 3);
  EXPECT_EQ(r.sampling.top_p, 0.9);
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(cmpl_error(R"({"prompt": "x", "n": 2})").param, "n");
  EXPECT_EQ(cmpl_error(R"({"prompt": "x", "model": 3})").param, "model");
  EXPECT_EQ(cmpl_error(R"({"prompt": "x", "top_k": 3})").param, "top_k");  // not in the OpenAI shape
  EXPECT_EQ(cmpl_error(R"({"prompt": ["x"]})").param, "prompt");           // arrays of prompts: not supported
  EXPECT_EQ(cmpl_error(R"({"prompt": "x", "max_tokens": 1000})").param, "max_tokens");
  EXPECT_EQ(cmpl_error(R"({"prompt": "x", "logprobs": 1})").param, "logprobs");
}

TEST(ServeRequests, RouteShape) {
  EXPECT_EQ(parse_route_request(R"({"text": "love songs"})", kLimits).text, "love songs");
  EXPECT_EQ(error_of(parse_route_request, R"({"prompt": "x"})").param, "prompt");
  EXPECT_EQ(error_of(parse_route_request, R"({})").param, "text");
  EXPECT_EQ(error_of(parse_route_request, R"({"text": 1})").param, "text");
  const ApiError big = error_of(parse_route_request, R"({"text": ")" + std::string(40, 'a') + "\"}");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.param, "text");
}

// Random byte edits, deletions, insertions and splices of valid bodies: each result
// either parses into a request that satisfies the limits, or is a 4xx RequestError.
TEST(ServeRequests, FuzzedBodiesParseOrGive4xx) {
  const std::vector<std::string> seeds = {
      R"({"prompt": "hello", "max_tokens": 12, "temperature": 0.7, "top_k": 5, "top_p": 0.9, "seed": 3, "stream": true})",
      R"({"prompt": "x", "model": "m", "n": 1, "seed": 9, "max_tokens": 4, "temperature": 1, "top_p": 1, "stream": false})",
      R"({"text": "the cat sat on the mat"})",
  };
  const std::string alphabet = "{}[]\":,.-+0123456789eEtrufalsn \\u\xff\xc3\xa9" "abcxyz";
  Rng rng(42);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng.uniform() * static_cast<double>(n)) % std::max<size_t>(n, 1); };
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 6000; ++iter) {
    std::string body = seeds[pick(seeds.size())];
    const int edits = 1 + static_cast<int>(pick(4));
    for (int k = 0; k < edits; ++k) {
      const size_t at = pick(body.size() + 1);
      switch (pick(4)) {
        case 0: if (at < body.size()) body[at] = alphabet[pick(alphabet.size())]; break;
        case 1: if (at < body.size()) body.erase(at, 1 + pick(4)); break;
        case 2: body.insert(at, 1, alphabet[pick(alphabet.size())]); break;
        case 3: {
          const std::string& other = seeds[pick(seeds.size())];
          const size_t from = pick(other.size());
          body.insert(at, other.substr(from, pick(12)));
          break;
        }
      }
    }
    for (int parser = 0; parser < 3; ++parser) {
      try {
        if (parser == 0) {
          GenerateRequest r = parse_generate_request(body, kLimits);
          EXPECT_TRUE(r.max_tokens >= 0 && r.max_tokens <= kLimits.max_tokens) << body;
          EXPECT_LE(static_cast<int64_t>(r.prompt.size()), kLimits.max_prompt_bytes) << body;
          EXPECT_TRUE(r.sampling.temperature >= 0 && r.sampling.top_p > 0 && r.sampling.top_p <= 1) << body;
        } else if (parser == 1) {
          CompletionRequest r = parse_completion_request(body, kLimits);
          EXPECT_TRUE(r.max_tokens >= 0 && r.max_tokens <= kLimits.max_tokens) << body;
        } else {
          RouteRequest r = parse_route_request(body, kLimits);
          EXPECT_LE(static_cast<int64_t>(r.text.size()), kLimits.max_prompt_bytes) << body;
        }
        ++parsed;
      } catch (const RequestError& e) {
        EXPECT_TRUE(e.error().status >= 400 && e.error().status < 500) << body;
        EXPECT_FALSE(e.error().message.empty()) << body;
        ++rejected;
      } catch (...) {
        ADD_FAILURE() << "not a RequestError for body: " << body;
      }
    }
  }
  EXPECT_GT(parsed, 100);  // the mutations keep some bodies valid, so both paths run
  EXPECT_GT(rejected, 1000);
}

TEST(ServeSse, EventFramingRoundTrips) {
  EXPECT_EQ(sse_event(std::string("[DONE]")), "data: [DONE]\n\n");
  const nlohmann::json a = {{"token", {{"text", "a\nb"}}}};
  const std::string stream = sse_event(a) + ": a comment\n\n" + sse_event(std::string("[DONE]"));
  const std::vector<std::string> data = parse_sse_data(stream);
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(data[0]), a);
  EXPECT_EQ(data[1], "[DONE]");
  EXPECT_EQ(parse_sse_data("data: x\r\ndata: y\r\n\r\n"), std::vector<std::string>{"x\ny"});
  EXPECT_EQ(dump_json(nlohmann::json("a\xff")), "\"a\xEF\xBF\xBD\"");  // invalid UTF-8 -> U+FFFD, no throw
}

TEST(ServeUtf8, JoinerHoldsSplitCharacters) {
  Utf8Joiner j;
  EXPECT_EQ(j.take("ab"), "ab");
  EXPECT_EQ(j.take("\xE2"), "");           // first byte of the 3-byte euro sign
  EXPECT_EQ(j.take("\x82"), "");
  EXPECT_EQ(j.take("\xAC!"), "\xE2\x82\xAC!");
  EXPECT_EQ(j.take("\xF0\x9F"), "");       // a 4-byte emoji cut after 2
  EXPECT_EQ(j.take("\x98\x80x\xC3"), "\xF0\x9F\x98\x80x");
  EXPECT_EQ(j.flush(), "\xC3");            // incomplete at the end: handed back as is
  EXPECT_EQ(j.take("\x80z"), "\x80z");     // a stray continuation byte passes through
}

TEST(ServeRun, MetricsReadWithPartialLastLine) {
  const std::string dir = test::test_tmp_dir("run");
  EXPECT_EQ(read_run_records(dir, 0)["records"].size(), 0u);  // no metrics.jsonl yet
  {
    std::ofstream out(dir + "/metrics.jsonl");
    out << R"({"step": 1, "loss": 2.5})" << "\n" << R"({"step": 2, "loss": 2.0})" << "\n"
        << "not json\n" << R"({"step": 3, "lo)";
  }
  nlohmann::json r = read_run_records(dir, 0);
  ASSERT_EQ(r["records"].size(), 2u);
  EXPECT_EQ(r["records"][1]["step"], 2);
  EXPECT_EQ(r["next"], 2);
  EXPECT_EQ(r["bad_lines"], nlohmann::json::array({3}));
  {
    std::ofstream out(dir + "/metrics.jsonl", std::ios::app);
    out << R"(ss": 1.5})" << "\n";
  }
  r = read_run_records(dir, 1);
  ASSERT_EQ(r["records"].size(), 2u);  // records[1:] of 3
  EXPECT_EQ(r["records"][1]["loss"], 1.5);
  EXPECT_EQ(r["next"], 3);
  EXPECT_EQ(read_run_records(dir, 10)["records"].size(), 0u);
  EXPECT_THROW(read_run_records(dir + "/missing", 0), Error);
}
