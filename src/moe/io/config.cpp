#include "moe/io/config.h"

#include <fmt/format.h>

#include "moe/io/atomic_file.h"

namespace moe::io {

namespace {
const char* type_name(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}
}  // namespace

ConfigReader::ConfigReader(nlohmann::json object, std::string origin, std::string path)
    : obj_(std::move(object)), origin_(std::move(origin)), path_(std::move(path)) {
  MOE_CHECK(obj_.is_object(), "{}: {} must be a JSON object, got {}", origin_, path_.empty() ? "the config" : path_,
            type_name(obj_));
}

ConfigReader ConfigReader::from_string(const std::string& text, const std::string& origin) {
  try {
    return ConfigReader(nlohmann::json::parse(text), origin);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", origin, e.what()));
  }
}

ConfigReader ConfigReader::from_file(const std::string& file) { return from_string(read_file(file), file); }

std::string ConfigReader::where(const std::string& key) const {
  return fmt::format("{}: {}{}", origin_, path_.empty() ? "" : path_ + ".", key);
}

const nlohmann::json& ConfigReader::at(const std::string& key) {
  MOE_CHECK(has(key), "{}: required key is missing", where(key));
  mark(key);
  return obj_.at(key);
}

template <> int64_t ConfigReader::require<int64_t>(const std::string& key) {
  const auto& v = at(key);
  MOE_CHECK(v.is_number_integer(), "{}: expected an integer, got {} ({})", where(key), type_name(v), v.dump());
  return v.get<int64_t>();
}
template <> int ConfigReader::require<int>(const std::string& key) {
  int64_t v = require<int64_t>(key);
  MOE_CHECK(v >= INT32_MIN && v <= INT32_MAX, "{}: {} is out of range", where(key), v);
  return static_cast<int>(v);
}
template <> uint64_t ConfigReader::require<uint64_t>(const std::string& key) {
  int64_t v = require<int64_t>(key);
  MOE_CHECK(v >= 0, "{}: expected a non-negative integer, got {}", where(key), v);
  return static_cast<uint64_t>(v);
}
template <> double ConfigReader::require<double>(const std::string& key) {
  const auto& v = at(key);
  MOE_CHECK(v.is_number(), "{}: expected a number, got {} ({})", where(key), type_name(v), v.dump());
  return v.get<double>();
}
template <> bool ConfigReader::require<bool>(const std::string& key) {
  const auto& v = at(key);
  MOE_CHECK(v.is_boolean(), "{}: expected true or false, got {} ({})", where(key), type_name(v), v.dump());
  return v.get<bool>();
}
template <> std::string ConfigReader::require<std::string>(const std::string& key) {
  const auto& v = at(key);
  MOE_CHECK(v.is_string(), "{}: expected a string, got {} ({})", where(key), type_name(v), v.dump());
  return v.get<std::string>();
}
template <> std::vector<int64_t> ConfigReader::require<std::vector<int64_t>>(const std::string& key) {
  const auto& v = at(key);
  MOE_CHECK(v.is_array(), "{}: expected an array of integers, got {}", where(key), type_name(v));
  std::vector<int64_t> out;
  for (const auto& e : v) {
    MOE_CHECK(e.is_number_integer(), "{}: expected an array of integers, found {}", where(key), e.dump());
    out.push_back(e.get<int64_t>());
  }
  return out;
}
template <> std::vector<std::string> ConfigReader::require<std::vector<std::string>>(const std::string& key) {
  const auto& v = at(key);
  MOE_CHECK(v.is_array(), "{}: expected an array of strings, got {}", where(key), type_name(v));
  std::vector<std::string> out;
  for (const auto& e : v) {
    MOE_CHECK(e.is_string(), "{}: expected an array of strings, found {}", where(key), e.dump());
    out.push_back(e.get<std::string>());
  }
  return out;
}

ConfigReader ConfigReader::child(const std::string& key) {
  const auto& v = at(key);
  MOE_CHECK(v.is_object(), "{}: expected an object, got {}", where(key), type_name(v));
  return ConfigReader(v, origin_, path_.empty() ? key : path_ + "." + key);
}

void ConfigReader::finish() const {
  std::vector<std::string> unknown;
  for (auto it = obj_.begin(); it != obj_.end(); ++it)
    if (!used_.count(it.key())) unknown.push_back(it.key());
  if (unknown.empty()) return;
  std::string list;
  for (const auto& k : unknown) list += (list.empty() ? "" : ", ") + where(k).substr(origin_.size() + 2);
  throw Error(fmt::format("{}: unknown key{} {}", origin_, unknown.size() > 1 ? "s" : "", list));
}

}  // namespace moe::io
