// API tests of `moe serve` against a real server on 127.0.0.1 (an ephemeral port), in
// process, with tiny checkpoints written here by io::save_checkpoint: every endpoint,
// every bad-request case (4xx with a JSON error, the server keeps serving), 503 from a
// full queue, and 16 concurrent clients x 5 requests whose responses equal the same
// requests made alone.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "moe/data/sentiment.h"
#include "moe/io/checkpoint.h"
#include "moe/models/moe_classifier.h"
#include "moe/models/neuroshard.h"
#include "moe/models/transformer_lm.h"
#include "moe/serve/served_model.h"
#include "moe/serve/server.h"
#include "moe/serve/sse.h"
#include "moe/serve/work_queue.h"
#include "moe/train/classifier_trainer.h"
#include "moe/train/lm_trainer.h"
#include "test_util.h"

using namespace moe;
using namespace moe::serve;
using nlohmann::json;

namespace {

// A randomly initialised char-level MoE LM: context 8, 2 layers of 4 experts, top-2.
std::string make_lm_checkpoint(const std::string& dir) {
  const std::string text = "the whale swam in the sea; ishmael watched.\n";
  std::unique_ptr<data::Tokenizer> tok = data::build_tokenizer(data::TokenizerSpec{}, text);
  train::RunConfig run = train::RunConfig::parse_text(R"({
    "model": {"context": 8, "d_model": 16, "heads": 2, "layers": 2,
              "ffn": {"kind": "moe", "num_experts": 4, "router": {"kind": "topk", "top_k": 2},
                      "expert": {"kind": "ffn", "d_ff": 32}}}})",
                                                      "test lm config");
  run.model.vocab_size = tok->vocab_size();
  Rng rng(3);
  models::TransformerLM lm(run.model, rng);
  io::CheckpointData d;
  d.config_json = run.to_json().dump();
  d.tokenizer_json = tok->to_json();
  io::save_checkpoint(dir, d, lm.named_parameters());
  return dir;
}

std::string make_neuroshard_checkpoint(const std::string& dir) {
  models::NeuroShardConfig c;
  c.dim = 16;
  c.rank = 2;
  c.embedding.kind = "word";
  c.embedding.rows = 32;
  Rng rng(5);
  models::NeuroShard model(c, rng);
  io::CheckpointData d;
  d.config_json = json{{"model", c.to_json()}}.dump();
  d.tokenizer_json = c.embedding.to_json().dump();
  io::save_checkpoint(dir, d, model.named_parameters());
  return dir;
}

std::string make_classifier_checkpoint(const std::string& dir, const std::string& data_kind) {
  const int64_t classes = data_kind == "synthetic" ? 3 : 2, features = data_kind == "synthetic" ? 20 : 32;
  const std::string config = json{{"model",
                                   {{"kind", "moe_classifier"},
                                    {"features", features},
                                    {"classes", classes},
                                    {"moe",
                                     {{"num_experts", 4},
                                      {"router", {{"kind", "topk"}, {"top_k", 2}, {"topk_norm", "softmax_topk"}}},
                                      {"expert", {{"kind", "mlp"}, {"hidden", {8}}, {"activation", "relu"}}}}}}},
                                  {"data", {{"kind", data_kind}}},
                                  {"train", {{"baseline", false}}}}
                                 .dump();
  train::ClassifierRunConfig run = train::ClassifierRunConfig::parse_text(config, "test classifier config");
  Rng rng(7);
  models::MoEClassifier model(run.model, rng);
  io::CheckpointData d;
  d.config_json = run.to_json().dump();
  d.tokenizer_json = "{}";
  io::save_checkpoint(dir, d, model.named_parameters());
  return dir;
}

struct Reply {
  int status = 0;
  std::string body, content_type;
  httplib::Headers headers;
  json j() const { return json::parse(body); }
};

class Client {
 public:
  explicit Client(int port) : http_("127.0.0.1", port) {
    http_.set_read_timeout(120, 0);
    http_.set_write_timeout(120, 0);
  }
  Reply get(const std::string& path) { return wrap(http_.Get(path.c_str())); }
  Reply post(const std::string& path, const std::string& body) {
    return wrap(http_.Post(path.c_str(), body, "application/json"));
  }
  Reply send(const std::string& method, const std::string& path) {
    httplib::Request req;
    req.method = method;
    req.path = path;
    return wrap(http_.send(req));
  }
  httplib::Client& raw() { return http_; }

 private:
  static Reply wrap(const httplib::Result& r) {
    if (!r) throw Error(fmt::format("HTTP request failed: {}", httplib::to_string(r.error())));
    return {r->status, r->body, r->get_header_value("Content-Type"), r->headers};
  }
  httplib::Client http_;
};

// An error reply: the status, a JSON error naming the param, and the server still serves.
void expect_error(Client& c, const Reply& r, int status, const std::string& param, const std::string& type) {
  EXPECT_EQ(r.status, status) << r.body;
  ASSERT_NE(r.content_type.find("application/json"), std::string::npos) << r.body;
  const json e = r.j().at("error");
  EXPECT_FALSE(e.at("message").get<std::string>().empty());
  EXPECT_EQ(e.at("type"), type) << r.body;
  if (param.empty())
    EXPECT_TRUE(e.at("param").is_null()) << r.body;
  else
    EXPECT_EQ(e.at("param"), param) << r.body;
  const int alive = c.get("/v1/model").status;  // still serving (404 when no model is loaded)
  EXPECT_TRUE(alive == 200 || alive == 404) << alive;
}

// The same ServerOptions over an LM checkpoint in this test's directory.
ServerOptions lm_options(const std::string& dir) {
  ServerOptions o;
  o.checkpoint_dir = make_lm_checkpoint(dir + "/lm");
  o.port = 0;
  o.limits = Limits{32, 64};
  return o;
}

std::string concat_token_texts(const json& tokens) {
  std::string s;
  for (const json& t : tokens) s += t.at("text").get<std::string>();
  return s;
}

}  // namespace

TEST(ServeApi, ModelDescribesTheLM) {
  Server server(lm_options(test::test_tmp_dir()));
  Client c(server.start());
  const Reply r = c.get("/v1/model");
  ASSERT_EQ(r.status, 200);
  const json m = r.j();
  EXPECT_EQ(m["kind"], "lm");
  EXPECT_EQ(m["tokenizer"], "char");
  EXPECT_EQ(m["layers"], 2);
  EXPECT_EQ(m["experts"], 4);
  EXPECT_EQ(m["context"], 8);
  EXPECT_EQ(m["config"]["model"]["d_model"], 16);
  EXPECT_GT(m["parameters"]["total"].get<int64_t>(), m["parameters"]["active_per_token"].get<int64_t>());
  EXPECT_EQ(m["limits"], (json{{"max_tokens", 32}, {"max_prompt_bytes", 64}}));
}

TEST(ServeApi, GenerateReturnsTokensWithRouting) {
  const ServerOptions o = lm_options(test::test_tmp_dir());
  Server server(o);
  Client c(server.start());
  const std::string req = R"({"prompt": "the wh", "max_tokens": 6, "temperature": 0.8, "top_k": 5, "seed": 11})";
  const Reply r = c.post("/v1/generate", req);
  ASSERT_EQ(r.status, 200) << r.body;
  const json g = r.j();
  ASSERT_EQ(g["tokens"].size(), 6u);
  EXPECT_EQ(g["finish_reason"], "length");
  EXPECT_EQ(g["usage"], (json{{"prompt_tokens", 6}, {"completion_tokens", 6}}));
  EXPECT_EQ(concat_token_texts(g["tokens"]), g["text"].get<std::string>());
  for (const json& t : g["tokens"]) {
    ASSERT_EQ(t["layers"].size(), 2u);
    for (const json& l : t["layers"]) {
      ASSERT_EQ(l["experts"].size(), 2u);
      ASSERT_EQ(l["weights"].size(), 2u);
      EXPECT_NE(l["experts"][0], l["experts"][1]);
      for (const json& e : l["experts"]) EXPECT_TRUE(e.get<int>() >= 0 && e.get<int>() < 4);
      EXPECT_NEAR(l["weights"][0].get<double>() + l["weights"][1].get<double>(), 1.0, 1e-5);  // softmax_topk
    }
  }
  // Reproducible, and equal to the model run alone in this process with the same seed.
  EXPECT_EQ(c.post("/v1/generate", req).body, r.body);
  std::unique_ptr<ServedModel> alone = ServedModel::load(o.checkpoint_dir);
  models::SamplingOptions s;
  s.temperature = 0.8;
  s.top_k = 5;
  const Generation direct = alone->generate("the wh", 6, s, 11);
  EXPECT_EQ(direct.text, g["text"].get<std::string>());
  EXPECT_EQ(direct.tokens[3].routing.experts[1][0], g["tokens"][3]["layers"][1]["experts"][0].get<int64_t>());
  // Another seed gives another text (near-uniform random weights over 20 characters).
  EXPECT_NE(c.post("/v1/generate", R"({"prompt": "the wh", "max_tokens": 6, "temperature": 0.8, "top_k": 5, "seed": 12})")
                .j()["text"],
            g["text"]);
}

TEST(ServeApi, GenerateStreamsTheSameTokens) {
  Server server(lm_options(test::test_tmp_dir()));
  Client c(server.start());
  const Reply plain = c.post("/v1/generate", R"({"prompt": "sea", "max_tokens": 5, "seed": 2})");
  const Reply r = c.post("/v1/generate", R"({"prompt": "sea", "max_tokens": 5, "seed": 2, "stream": true})");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.content_type.find("text/event-stream"), std::string::npos);
  const std::vector<std::string> events = parse_sse_data(r.body);
  ASSERT_EQ(events.size(), 6u);
  const json g = plain.j();
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(json::parse(events[i]), (json{{"token", g["tokens"][i]}}));
  EXPECT_EQ(json::parse(events[5]),
            (json{{"done", true}, {"text", g["text"]}, {"finish_reason", "length"}, {"usage", g["usage"]}}));
}

TEST(ServeApi, CompletionsOpenAIShape) {
  Server server(lm_options(test::test_tmp_dir()));
  Client c(server.start());
  const Reply r = c.post("/v1/completions", R"({"prompt": "the", "max_tokens": 7, "seed": 5, "model": "x", "n": 1})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.j();
  EXPECT_EQ(j["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["model"], "moe");
  EXPECT_GT(j["created"].get<int64_t>(), 1600000000);
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["index"], 0);
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"], (json{{"prompt_tokens", 3}, {"completion_tokens", 7}, {"total_tokens", 10}}));
  // The same sampling as /v1/generate with the same seed.
  const json g = c.post("/v1/generate", R"({"prompt": "the", "max_tokens": 7, "seed": 5})").j();
  EXPECT_EQ(j["choices"][0]["text"], g["text"]);

  const Reply s = c.post("/v1/completions", R"({"prompt": "the", "max_tokens": 7, "seed": 5, "stream": true})");
  ASSERT_EQ(s.status, 200);
  EXPECT_NE(s.content_type.find("text/event-stream"), std::string::npos);
  const std::vector<std::string> events = parse_sse_data(s.body);
  ASSERT_EQ(events.size(), 9u);  // 7 tokens, the final chunk, [DONE]
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json chunk = json::parse(events[i]);
    EXPECT_EQ(chunk["object"], "text_completion");
    EXPECT_EQ(chunk["id"], json::parse(events[0])["id"]);
    text += chunk["choices"][0]["text"].get<std::string>();
    if (i + 2 < events.size())
      EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
    else
      EXPECT_EQ(chunk["choices"][0]["finish_reason"], "length");
  }
  EXPECT_EQ(text, g["text"].get<std::string>());
}

TEST(ServeApi, BadRequestsGet4xxAndTheServerKeepsServing) {
  Server server(lm_options(test::test_tmp_dir()));
  Client c(server.start());
  const std::string inv = "invalid_request_error";
  for (const std::string path : {"/v1/generate", "/v1/completions"}) {
    expect_error(c, c.post(path, R"({"prompt": "a",)"), 400, "", inv);                       // malformed JSON
    expect_error(c, c.post(path, R"({"prompt": "a", "max_tokens": "3"})"), 400, "max_tokens", inv);  // wrong type
    expect_error(c, c.post(path, R"({"prompt": "a", "temperature": []})"), 400, "temperature", inv);
    expect_error(c, c.post(path, R"({"prompt": "a", "bogus": 1})"), 400, "bogus", inv);      // unknown field
    expect_error(c, c.post(path, R"({"prompt": "a", "max_tokens": 33})"), 400, "max_tokens", inv);  // over 32
    expect_error(c, c.post(path, R"({"prompt": "a", "top_p": 0})"), 400, "top_p", inv);
    expect_error(c, c.post(path, json{{"prompt", std::string(65, 'a')}}.dump()), 413, "prompt", inv);  // > 64 bytes
    expect_error(c, c.post(path, R"({"prompt": "the whale"})"), 413, "prompt", inv);  // 9 tokens > context 8
    EXPECT_EQ(c.post(path, R"({"prompt": "the whal", "max_tokens": 2})").status, 200);  // exactly the context
    expect_error(c, c.post(path, R"({"prompt": 7})"), 400, "prompt", inv);
  }
  expect_error(c, c.post("/v1/route", R"({"text": "hi"})"), 400, "", inv);  // an LM cannot route
  EXPECT_NE(c.post("/v1/route", R"({"text": "hi"})").j()["error"]["message"].get<std::string>().find("\"lm\""),
            std::string::npos);
  expect_error(c, c.get("/v1/nothing"), 404, "", "not_found");
  expect_error(c, c.get("/v1/run"), 404, "", "not_found");  // started without --run
  const Reply wrong = c.get("/v1/generate");
  expect_error(c, wrong, 405, "", inv);
  EXPECT_EQ(httplib::detail::get_header_value(wrong.headers, "Allow", 0, ""), std::string("POST"));
  expect_error(c, c.post("/v1/model", "{}"), 405, "", inv);
  expect_error(c, c.send("DELETE", "/v1/completions"), 405, "", inv);
  expect_error(c, c.post("/v1/generate", std::string(100000, ' ')), 413, "", inv);  // body over the payload limit
}

TEST(ServeApi, FullQueueAnswers503) {
  ServerOptions o = lm_options(test::test_tmp_dir());
  o.queue = 2;
  Server server(o);
  Client c(server.start());
  // Hold the only worker, then fill the two waiting places.
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(server.work_queue()->try_submit([&](ServedModel*) {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  ASSERT_TRUE(server.work_queue()->try_submit([released](ServedModel*) { released.wait(); }));
  ASSERT_TRUE(server.work_queue()->try_submit([released](ServedModel*) { released.wait(); }));
  for (const std::string body : {R"({"prompt": "a", "max_tokens": 2})", R"({"prompt": "a", "max_tokens": 2, "stream": true})"}) {
    const Reply busy = c.post("/v1/generate", body);
    expect_error(c, busy, 503, "", "server_busy");
    EXPECT_EQ(httplib::detail::get_header_value(busy.headers, "Retry-After", 0, ""), std::string("1"));
  }
  release.set_value();
  // Once the held jobs drain (the worker needs a moment to take them), requests run again.
  int status = 0;
  for (int attempt = 0; attempt < 500 && status != 200; ++attempt) {
    status = c.post("/v1/generate", R"({"prompt": "a", "max_tokens": 2})").status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, 200);
}

// 16 clients x 5 requests (plain and streamed generate, completions) at once: every reply
// is well formed and equal to the same request made alone.
void concurrent_equals_alone(int workers) {
  ServerOptions o = lm_options(test::test_tmp_dir());
  o.workers = workers;
  Server server(o);
  const int port = server.start();
  auto request = [](int client, int k) {
    const int kind = (client + k) % 3;
    const json body = {{"prompt", std::string("sea").substr(0, 1 + (client % 3))},
                       {"max_tokens", 4 + k},
                       {"temperature", 0.5 + 0.1 * k},
                       {"top_p", 0.95},
                       {"seed", 100 * client + k},
                       {"stream", kind == 1}};
    return std::make_pair(std::string(kind == 2 ? "/v1/completions" : "/v1/generate"), body.dump());
  };
  // completions differ in id and created only: compare their text
  auto essence = [](const std::string& path, const Reply& r) -> std::string {
    if (r.status != 200) return "status " + std::to_string(r.status) + ": " + r.body;
    if (path == "/v1/completions") return r.j()["choices"][0]["text"].get<std::string>();
    if (r.content_type.find("text/event-stream") != std::string::npos) {
      const std::vector<std::string> events = parse_sse_data(r.body);
      if (events.empty()) return "no events";
      for (const std::string& e : events) EXPECT_TRUE(json::accept(e)) << e;  // every event is JSON
      return events.back();
    }
    return r.body;
  };
  constexpr int kClients = 16, kRequests = 5;
  std::vector<std::vector<std::string>> alone(kClients, std::vector<std::string>(kRequests));
  {
    Client c(port);
    for (int i = 0; i < kClients; ++i)
      for (int k = 0; k < kRequests; ++k) {
        auto [path, body] = request(i, k);
        alone[i][k] = essence(path, c.post(path, body));
        ASSERT_EQ(alone[i][k].rfind("status", 0), std::string::npos) << alone[i][k];
      }
  }
  std::vector<std::vector<std::string>> together(kClients, std::vector<std::string>(kRequests));
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      Client c(port);
      for (int k = 0; k < kRequests; ++k) {
        auto [path, body] = request(i, k);
        try {
          together[i][k] = essence(path, c.post(path, body));
        } catch (const std::exception& e) {
          together[i][k] = e.what();
        }
      }
    });
  for (std::thread& t : clients) t.join();
  for (int i = 0; i < kClients; ++i)
    for (int k = 0; k < kRequests; ++k) EXPECT_EQ(together[i][k], alone[i][k]) << "client " << i << " request " << k;
}

TEST(ServeApi, ConcurrentRequestsEqualRequestsAlone) { concurrent_equals_alone(1); }
TEST(ServeApi, ConcurrentRequestsEqualRequestsAloneTwoWorkers) { concurrent_equals_alone(2); }

TEST(ServeApi, ClientLeavingAStreamDoesNotHurtTheServer) {
  Server server(lm_options(test::test_tmp_dir()));
  const int port = server.start();
  Client c(port);
  const std::string body = R"({"prompt": "a", "max_tokens": 32, "stream": true})";
  int chunks = 0;
  httplib::Client raw("127.0.0.1", port);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/generate";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 2; };  // hang up early
  auto r = raw.send(req);
  EXPECT_FALSE(r);
  EXPECT_GE(chunks, 1);
  const Reply after = c.post("/v1/generate", R"({"prompt": "a", "max_tokens": 3})");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.j()["tokens"].size(), 3u);
}

TEST(ServeApi, NeuroShardRoutes) {
  const std::string dir = test::test_tmp_dir();
  ServerOptions o;
  o.checkpoint_dir = make_neuroshard_checkpoint(dir + "/ns");
  o.port = 0;
  Server server(o);
  Client c(server.start());
  const json m = c.get("/v1/model").j();
  EXPECT_EQ(m["kind"], "neuroshard");
  EXPECT_EQ(m["experts"], 4);
  EXPECT_EQ(m["expert_names"], (json{"rap", "love", "math", "animals"}));
  EXPECT_EQ(m["classes"], m["expert_names"]);
  EXPECT_EQ(m["tokenizer"], "word");
  const Reply r = c.post("/v1/route", R"({"text": "integral theorem proof"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.j();
  EXPECT_EQ(j["experts"], m["expert_names"]);
  double total = 0;
  for (const json& p : j["probs"]) total += p.get<double>();
  EXPECT_NEAR(total, 1.0, 1e-5);
  std::unique_ptr<models::NeuroShard> alone = models::load_neuroshard(o.checkpoint_dir);
  const models::Route expected = models::route_text(*alone, "integral theorem proof");
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(j["probs"][i].get<double>(), expected.alpha[i], 1e-6);
  EXPECT_EQ(j["prediction"]["label"], expected.dominant());
  EXPECT_EQ(j["classes"], m["classes"]);
  EXPECT_EQ(j["head"].size(), 4u);
  expect_error(c, c.post("/v1/generate", R"({"prompt": "x"})"), 400, "", "invalid_request_error");
  EXPECT_NE(c.post("/v1/completions", R"({"prompt": "x"})").body.find("neuroshard"), std::string::npos);
  expect_error(c, c.post("/v1/route", R"({"text": 3})"), 400, "text", "invalid_request_error");
}

TEST(ServeApi, MoEClassifierRoutes) {
  const std::string dir = test::test_tmp_dir();
  ServerOptions o;
  o.checkpoint_dir = make_classifier_checkpoint(dir + "/cls", "sentiment_fixtures");
  o.port = 0;
  Server server(o);
  Client c(server.start());
  const json m = c.get("/v1/model").j();
  EXPECT_EQ(m["kind"], "moe_classifier");
  EXPECT_EQ(m["classes"], (json{"negative", "positive"}));
  EXPECT_EQ(m["expert_names"].size(), 4u);
  const Reply r = c.post("/v1/route", R"({"text": "a wonderful, moving film"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.j();
  ASSERT_EQ(j["probs"].size(), 4u);
  double total = 0, class_total = 0;
  for (const json& p : j["probs"]) total += p.get<double>();
  for (const json& p : j["prediction"]["probs"]) class_total += p.get<double>();
  EXPECT_NEAR(total, 1.0, 1e-5);
  EXPECT_NEAR(class_total, 1.0, 1e-9);
  EXPECT_EQ(j["prediction"]["label"], j["classes"][j["prediction"]["index"].get<int>()]);
  ASSERT_EQ(j["chosen"]["experts"].size(), 2u);
  // The chosen experts are the router's two most probable.
  std::vector<double> probs = j["probs"].get<std::vector<double>>();
  std::vector<int> order = {0, 1, 2, 3};
  std::sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  std::vector<int> chosen = j["chosen"]["experts"].get<std::vector<int>>();
  std::sort(chosen.begin(), chosen.end());
  std::vector<int> top2 = {order[0], order[1]};
  std::sort(top2.begin(), top2.end());
  EXPECT_EQ(chosen, top2);
  EXPECT_EQ(c.post("/v1/route", R"({"text": "a wonderful, moving film"})").body, r.body);
}

TEST(ServeApi, SyntheticClassifierCannotRouteText) {
  const std::string dir = test::test_tmp_dir();
  ServerOptions o;
  o.checkpoint_dir = make_classifier_checkpoint(dir + "/cls", "synthetic");
  o.port = 0;
  Server server(o);
  Client c(server.start());
  EXPECT_EQ(c.get("/v1/model").j()["classes"], (json{"positive", "negative", "neutral"}));
  expect_error(c, c.post("/v1/route", R"({"text": "fine"})"), 400, "text", "invalid_request_error");
}

TEST(ServeApi, RunMetricsReadFreshEachRequest) {
  const std::string dir = test::test_tmp_dir("run");
  {
    std::ofstream out(dir + "/metrics.jsonl");
    out << R"({"step": 10, "split": "train", "loss": 3.0})" << "\n" << R"({"step": 20, "spl)";
  }
  ServerOptions o;  // dashboard only: no checkpoint
  o.run_dir = dir;
  o.port = 0;
  Server server(o);
  Client c(server.start());
  json r = c.get("/v1/run").j();
  EXPECT_EQ(r["dir"], dir);
  ASSERT_EQ(r["records"].size(), 1u);
  {
    std::ofstream out(dir + "/metrics.jsonl", std::ios::app);
    out << R"(it": "train", "loss": 2.5})" << "\n" << R"({"step": 30, "split": "train", "loss": 2.0})" << "\n";
  }
  r = c.get("/v1/run").j();
  ASSERT_EQ(r["records"].size(), 3u);
  EXPECT_EQ(r["records"][1]["loss"], 2.5);
  EXPECT_EQ(r["next"], 3);
  r = c.get("/v1/run?from=2").j();
  ASSERT_EQ(r["records"].size(), 1u);
  EXPECT_EQ(r["records"][0]["step"], 30);
  expect_error(c, c.get("/v1/run?from=x"), 400, "from", "invalid_request_error");
  expect_error(c, c.get("/v1/run?from=-1"), 400, "from", "invalid_request_error");
  // No model: the model endpoints say so.
  EXPECT_EQ(c.get("/v1/model").status, 404);
  EXPECT_EQ(c.post("/v1/generate", R"({"prompt": "a"})").j()["error"]["type"], "not_found");
}

TEST(ServeApi, StaticFilesFromTheWebDir) {
  const std::string dir = test::test_tmp_dir();
  const std::string web = dir + "/web";
  std::filesystem::create_directories(web);
  std::ofstream(web + "/index.html") << "<!doctype html><title>moe</title>";
  std::ofstream(web + "/app.css") << "body { margin: 0 }";
  ServerOptions o = lm_options(dir);
  o.web_dir = web;
  Server server(o);
  Client c(server.start());
  Reply r = c.get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!doctype html><title>moe</title>");
  EXPECT_NE(r.content_type.find("text/html"), std::string::npos);
  r = c.get("/app.css");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.content_type.find("text/css"), std::string::npos);
  expect_error(c, c.get("/missing.js"), 404, "", "not_found");
  expect_error(c, c.get("/../secret"), 404, "", "not_found");
  EXPECT_EQ(c.get("/v1/model").j()["kind"], "lm");  // the API is not shadowed
}

TEST(ServeApi, StopEndsListenAndPendingWork) {
  ServerOptions o = lm_options(test::test_tmp_dir());
  auto server = std::make_unique<Server>(o);
  const int port = server->start();
  Client c(port);
  EXPECT_EQ(c.get("/v1/model").status, 200);
  server->stop();
  EXPECT_FALSE(server->work_queue()->try_submit([](ServedModel*) {}));
  server.reset();  // joins the listener
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/v1/model"));
}

TEST(ServeApi, PortInUseIsAnError) {
  const std::string dir = test::test_tmp_dir();
  ServerOptions o = lm_options(dir);
  Server first(o);
  o.port = first.start();
  Server second(o);
  EXPECT_THROW(second.bind(), Error);
}

TEST(ServeApi, BadOptionsThrowNamingTheOption) {
  const std::string dir = test::test_tmp_dir();
  ServerOptions none;
  EXPECT_THROW(Server s(none), Error);  // neither a checkpoint nor a run
  ServerOptions o = lm_options(dir);
  o.workers = 0;
  EXPECT_THROW(Server s(o), Error);
  o.workers = 1;
  o.queue = 0;
  EXPECT_THROW(Server s(o), Error);
  o.queue = 4;
  o.run_dir = dir + "/no_such_run";
  EXPECT_THROW(Server s(o), Error);
  ServerOptions missing;
  missing.checkpoint_dir = dir + "/no_such_checkpoint";
  try {
    Server s(missing);
    ADD_FAILURE() << "no error for a missing checkpoint";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_checkpoint"), std::string::npos) << e.what();
  }
}
