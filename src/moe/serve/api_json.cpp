// serve/api_json.cpp: building the response objects; finish_reason is always "length"
// (generation stops only at max_tokens: the models have no end-of-text token).
#include "moe/serve/api_json.h"

namespace moe::serve {

namespace {

nlohmann::json usage(const Generation& g, bool with_total) {
  const int64_t completion = static_cast<int64_t>(g.tokens.size());
  nlohmann::json u = {{"prompt_tokens", g.prompt_tokens}, {"completion_tokens", completion}};
  if (with_total) u["total_tokens"] = g.prompt_tokens + completion;
  return u;
}

nlohmann::json completion_object(const CompletionMeta& meta, const std::string& text, const nlohmann::json& finish) {
  return {{"id", meta.id},
          {"object", "text_completion"},
          {"created", meta.created},
          {"model", "moe"},
          {"choices", nlohmann::json::array({{{"text", text}, {"index", 0}, {"logprobs", nullptr},
                                              {"finish_reason", finish}}})}};
}

}  // namespace

nlohmann::json token_json(const GeneratedToken& token) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t l = 0; l < token.routing.experts.size(); ++l)
    layers.push_back({{"experts", token.routing.experts[l]}, {"weights", token.routing.weights[l]}});
  return {{"text", token.text}, {"layers", layers}};
}

nlohmann::json generate_response(const Generation& g) {
  nlohmann::json tokens = nlohmann::json::array();
  for (const GeneratedToken& t : g.tokens) tokens.push_back(token_json(t));
  return {{"text", g.text}, {"tokens", tokens}, {"finish_reason", "length"}, {"usage", usage(g, false)}};
}

nlohmann::json generate_token_event(const GeneratedToken& token) { return {{"token", token_json(token)}}; }

nlohmann::json generate_done_event(const Generation& g) {
  return {{"done", true}, {"text", g.text}, {"finish_reason", "length"}, {"usage", usage(g, false)}};
}

nlohmann::json completion_response(const CompletionMeta& meta, const Generation& g) {
  nlohmann::json j = completion_object(meta, g.text, "length");
  j["usage"] = usage(g, true);
  return j;
}

nlohmann::json completion_chunk(const CompletionMeta& meta, const std::string& text, const Generation* last) {
  if (!last) return completion_object(meta, text, nullptr);
  nlohmann::json j = completion_object(meta, text, "length");
  j["usage"] = usage(*last, true);
  return j;
}

}  // namespace moe::serve
