// serve/request_parse.h: strict validation of the JSON bodies of `moe serve`'s POST
// endpoints (docs/serve_api.md) into plain structs, with no socket and no model, so it
// can be tested and fuzzed alone. A bad body throws RequestError carrying the HTTP status
// (400, or 413 for a prompt over the byte limit), the field at fault and a message.
// Checks that need the model (the prompt's token count against the context) are the
// server's.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "moe/core/error.h"
#include "moe/models/sampling.h"

namespace moe::serve {

// The body of every error response: {"error": {"message", "type", "param"}}.
struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";  // | "server_busy" | "not_found" | "server_error"
  std::string message;
  std::string param;  // the field at fault; empty -> null
  nlohmann::json to_json() const;
};

class RequestError : public Error {
 public:
  explicit RequestError(ApiError e) : Error(e.message), error_(std::move(e)) {}
  const ApiError& error() const { return error_; }

 private:
  ApiError error_;
};

struct Limits {
  int64_t max_tokens = 1024;       // max_tokens above this -> 400
  int64_t max_prompt_bytes = 8192; // a prompt (or route text) longer than this -> 413
};

// POST /v1/generate. An absent max_tokens is the default below, or the server's limit
// when that is lower.
struct GenerateRequest {
  std::string prompt;
  int64_t max_tokens = 64;
  models::SamplingOptions sampling;
  uint64_t seed = 0;
  bool stream = false;
};

// POST /v1/completions (OpenAI legacy shape); `model` is accepted and ignored, n must be 1.
struct CompletionRequest {
  std::string prompt;
  int64_t max_tokens = 16;
  models::SamplingOptions sampling;  // top_k stays 0
  std::optional<uint64_t> seed;      // absent: the server draws one
  bool stream = false;
};

// POST /v1/route
struct RouteRequest {
  std::string text;
};

GenerateRequest parse_generate_request(const std::string& body, const Limits& limits);
CompletionRequest parse_completion_request(const std::string& body, const Limits& limits);
RouteRequest parse_route_request(const std::string& body, const Limits& limits);

}  // namespace moe::serve
