// train/metrics_log.cpp: the JSON-lines metrics writer and reader.
#include "moe/train/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "moe/core/error.h"
#include "moe/io/atomic_file.h"

namespace moe::train {

namespace {

// Cuts a trailing fragment without '\n' (a torn last write) off the file at `path`.
void drop_torn_tail(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  const std::string text = io::read_file(path);
  if (text.empty() || text.back() == '\n') return;
  const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  fs::resize_file(path, keep, ec);
  MOE_CHECK(!ec, "cannot truncate the torn last line of {}: {}", path, ec.message());
}

}  // namespace

MetricsLog::MetricsLog(const std::string& dir) : path_((std::filesystem::path(dir) / "metrics.jsonl").string()) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  MOE_CHECK(!ec, "cannot create the run directory {}: {}", dir, ec.message());
  drop_torn_tail(path_);
  file_ = std::fopen(path_.c_str(), "a");
  MOE_CHECK(file_ != nullptr, "cannot open {} for appending: {}", path_, std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::write(const nlohmann::json& record) {
  MOE_CHECK(record.is_object(), "{}: a metrics record must be a JSON object, got {}", path_, record.dump());
  // error_handler::replace: a stray invalid UTF-8 byte in a string must not lose the record.
  const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  MOE_CHECK(ok, "cannot write to {}: {}", path_, std::strerror(errno));
}

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::istringstream in(io::read_file(path));
  std::vector<nlohmann::json> out;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(fmt::format("{}:{}: not valid JSON: {}", path, number, e.what()));
    }
    MOE_CHECK(j.is_object(), "{}:{}: expected a JSON object, got {}", path, number, j.dump());
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace moe::train
