// serve/api_json.h: the JSON bodies and stream events of /v1/generate and
// /v1/completions, exactly as docs/serve_api.md defines them.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "moe/serve/served_model.h"

namespace moe::serve {

// TOKEN = {"text": str, "layers": [{"experts": [int...], "weights": [num...]}, ...one per MoE layer]}
nlohmann::json token_json(const GeneratedToken& token);

// /v1/generate: the whole response, one stream event per token ({"token": TOKEN}) and the
// last event ({"done": true, "text", "finish_reason", "usage"}).
nlohmann::json generate_response(const Generation& g);
nlohmann::json generate_token_event(const GeneratedToken& token);
nlohmann::json generate_done_event(const Generation& g);

// /v1/completions (OpenAI legacy text_completion objects).
struct CompletionMeta {
  std::string id;       // "cmpl-..."
  int64_t created = 0;  // unix seconds
};
nlohmann::json completion_response(const CompletionMeta& meta, const Generation& g);
// A stream chunk: choices[0].text = the new piece; finish_reason null, or "length" with
// usage on the last chunk (g non-null).
nlohmann::json completion_chunk(const CompletionMeta& meta, const std::string& text, const Generation* last);

}  // namespace moe::serve
