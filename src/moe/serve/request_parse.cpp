// serve/request_parse.cpp: field-by-field checks of the request bodies; every failure
// names the field (param) and says what was expected.
#include "moe/serve/request_parse.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace moe::serve {

nlohmann::json ApiError::to_json() const {
  nlohmann::json p = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  return {{"error", {{"message", message}, {"type", type}, {"param", p}}}};
}

namespace {

[[noreturn]] void fail(const std::string& param, const std::string& message, int status = 400) {
  throw RequestError(ApiError{status, "invalid_request_error", message, param});
}

std::string type_name(const nlohmann::json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  return std::string(v.type_name()) == "null" ? "null" : std::string("a ") + v.type_name();
}

// The body as a JSON object whose keys are all in `allowed`.
nlohmann::json parse_object(const std::string& body, const std::set<std::string>& allowed) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    fail("", fmt::format("malformed JSON: {}", e.what()));
  }
  if (!j.is_object()) fail("", fmt::format("the body must be a JSON object, got {}", type_name(j)));
  for (auto& [key, value] : j.items())
    if (!allowed.count(key)) {
      std::string known;
      for (const std::string& k : allowed) known += (known.empty() ? "" : ", ") + k;
      fail(key, fmt::format("unknown field '{}' (known fields: {})", key, known));
    }
  return j;
}

std::string get_string(const nlohmann::json& j, const std::string& key, bool required) {
  if (!j.contains(key)) {
    if (required) fail(key, fmt::format("'{}' is required (a string)", key));
    return "";
  }
  const nlohmann::json& v = j[key];
  if (!v.is_string()) fail(key, fmt::format("'{}' must be a string, got {}", key, type_name(v)));
  return v.get<std::string>();
}

int64_t get_int(const nlohmann::json& j, const std::string& key, int64_t fallback, int64_t min) {
  if (!j.contains(key)) return fallback;
  const nlohmann::json& v = j[key];
  if (!v.is_number_integer()) fail(key, fmt::format("'{}' must be an integer, got {}", key, type_name(v)));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    fail(key, fmt::format("'{}' is too large", key));
  const int64_t x = v.get<int64_t>();
  if (x < min) fail(key, fmt::format("'{}' must be >= {}, got {}", key, min, x));
  return x;
}

uint64_t get_seed(const nlohmann::json& j) {
  const nlohmann::json& v = j["seed"];
  if (!v.is_number_integer()) fail("seed", fmt::format("'seed' must be an integer, got {}", type_name(v)));
  if (!v.is_number_unsigned()) fail("seed", fmt::format("'seed' must be >= 0, got {}", v.get<int64_t>()));
  return v.get<uint64_t>();
}

double get_number(const nlohmann::json& j, const std::string& key, double fallback) {
  if (!j.contains(key)) return fallback;
  const nlohmann::json& v = j[key];
  if (!v.is_number()) fail(key, fmt::format("'{}' must be a number, got {}", key, type_name(v)));
  const double x = v.get<double>();
  if (!std::isfinite(x)) fail(key, fmt::format("'{}' must be finite", key));
  return x;
}

bool get_bool(const nlohmann::json& j, const std::string& key, bool fallback) {
  if (!j.contains(key)) return fallback;
  const nlohmann::json& v = j[key];
  if (!v.is_boolean()) fail(key, fmt::format("'{}' must be true or false, got {}", key, type_name(v)));
  return v.get<bool>();
}

void check_prompt_bytes(const std::string& key, const std::string& text, const Limits& limits) {
  if (static_cast<int64_t>(text.size()) > limits.max_prompt_bytes)
    fail(key, fmt::format("'{}' is {} bytes, over the server's limit of {} bytes", key, text.size(),
                          limits.max_prompt_bytes),
         413);
}

void check_max_tokens(int64_t max_tokens, const Limits& limits) {
  if (max_tokens > limits.max_tokens)
    fail("max_tokens", fmt::format("'max_tokens' is {}, over the server's limit of {}", max_tokens, limits.max_tokens));
}

// temperature >= 0, top_p in (0, 1] (models/sampling.h), each named.
void check_sampling_fields(const models::SamplingOptions& s) {
  if (s.temperature < 0) fail("temperature", fmt::format("'temperature' must be >= 0, got {}", s.temperature));
  if (!(s.top_p > 0 && s.top_p <= 1)) fail("top_p", fmt::format("'top_p' must be in (0, 1], got {}", s.top_p));
  try {
    models::check_sampling(s);
  } catch (const Error& e) {
    fail("", e.what());
  }
}

}  // namespace

GenerateRequest parse_generate_request(const std::string& body, const Limits& limits) {
  const nlohmann::json j =
      parse_object(body, {"prompt", "max_tokens", "temperature", "top_k", "top_p", "seed", "stream"});
  GenerateRequest r;
  r.prompt = get_string(j, "prompt", true);
  r.max_tokens = get_int(j, "max_tokens", std::min(r.max_tokens, limits.max_tokens), 0);
  r.sampling.temperature = get_number(j, "temperature", r.sampling.temperature);
  r.sampling.top_k = get_int(j, "top_k", r.sampling.top_k, 0);
  r.sampling.top_p = get_number(j, "top_p", r.sampling.top_p);
  if (j.contains("seed")) r.seed = get_seed(j);
  r.stream = get_bool(j, "stream", r.stream);
  check_sampling_fields(r.sampling);
  check_max_tokens(r.max_tokens, limits);
  check_prompt_bytes("prompt", r.prompt, limits);
  return r;
}

CompletionRequest parse_completion_request(const std::string& body, const Limits& limits) {
  const nlohmann::json j =
      parse_object(body, {"prompt", "max_tokens", "temperature", "top_p", "stream", "model", "seed", "n"});
  CompletionRequest r;
  r.prompt = get_string(j, "prompt", true);
  r.max_tokens = get_int(j, "max_tokens", std::min(r.max_tokens, limits.max_tokens), 0);
  r.sampling.temperature = get_number(j, "temperature", r.sampling.temperature);
  r.sampling.top_p = get_number(j, "top_p", r.sampling.top_p);
  r.stream = get_bool(j, "stream", r.stream);
  (void)get_string(j, "model", false);
  if (j.contains("seed")) r.seed = get_seed(j);
  if (get_int(j, "n", 1, 1) != 1) fail("n", "'n' must be 1: one completion per request");
  check_sampling_fields(r.sampling);
  check_max_tokens(r.max_tokens, limits);
  check_prompt_bytes("prompt", r.prompt, limits);
  return r;
}

RouteRequest parse_route_request(const std::string& body, const Limits& limits) {
  const nlohmann::json j = parse_object(body, {"text"});
  RouteRequest r;
  r.text = get_string(j, "text", true);
  check_prompt_bytes("text", r.text, limits);
  return r;
}

}  // namespace moe::serve
