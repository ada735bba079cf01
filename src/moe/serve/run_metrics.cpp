// serve/run_metrics.cpp: tolerant reading of RUN/metrics.jsonl (train/metrics_log.h).
#include "moe/serve/run_metrics.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "moe/core/error.h"

namespace moe::serve {

nlohmann::json read_run_records(const std::string& run_dir, int64_t from) {
  MOE_CHECK(std::filesystem::is_directory(run_dir), "--run {}: not a directory", run_dir);
  std::string text;
  {
    std::ifstream in(run_dir + "/metrics.jsonl", std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
  }
  nlohmann::json records = nlohmann::json::array(), bad = nlohmann::json::array();
  int64_t total = 0, line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const bool complete = end != std::string::npos;
    const std::string line = text.substr(pos, complete ? end - pos : std::string::npos);
    pos = complete ? end + 1 : text.size();
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      if (complete) bad.push_back(line_no);
      continue;
    }
    if (total++ >= from) records.push_back(std::move(j));
  }
  return {{"dir", run_dir}, {"records", records}, {"next", total}, {"bad_lines", bad}};
}

}  // namespace moe::serve
