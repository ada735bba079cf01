// io/config.h: strict reading of JSON configs. A ConfigReader wraps one JSON object
// and remembers which keys were read; finish() rejects any key nobody asked for, so a
// typo ("n_embd" for "n_embed") is an error, not a silently ignored setting. Errors
// name the file and the dotted key path and say what was expected.
#pragma once
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "moe/core/error.h"

namespace moe::io {

class ConfigReader {
 public:
  // `origin` is the file name; `path` the dotted prefix of this object ("" at the root).
  ConfigReader(nlohmann::json object, std::string origin, std::string path = "");

  static ConfigReader from_file(const std::string& file);
  static ConfigReader from_string(const std::string& text, const std::string& origin);

  bool has(const std::string& key) const { return obj_.contains(key); }
  // The value at `key` converted to T; throws naming the key when missing or mistyped.
  template <class T> T require(const std::string& key);
  // Same, with a default when the key is absent.
  template <class T> T get(const std::string& key, const T& fallback) {
    return has(key) ? require<T>(key) : (mark(key), fallback);
  }
  // A nested object.
  ConfigReader child(const std::string& key);
  // Throws if the object has keys that were never read (lists all of them).
  void finish() const;
  // "file: a.b.key" for messages.
  std::string where(const std::string& key) const;
  const nlohmann::json& json() const { return obj_; }

 private:
  void mark(const std::string& key) { used_.insert(key); }
  const nlohmann::json& at(const std::string& key);
  nlohmann::json obj_;
  std::string origin_, path_;
  std::set<std::string> used_;
};

}  // namespace moe::io
