// train/metrics_log.h: the run's metrics as JSON lines, DIR/metrics.jsonl: one JSON
// object per line per call (e.g. {"step": 100, "split": "train", "loss": 2.31}),
// appended and flushed at once so a crashed or running job leaves a readable file.
// NaN and infinite numbers are written as null (JSON has no NaN).
//
// A resumed run appends to the same file. A crash mid-write can leave a last line
// without its newline; opening the log cuts that fragment off (it was never a whole
// record), so the file stays valid JSONL.
#pragma once
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moe::train {

class MetricsLog {
 public:
  // Creates `dir` if needed and opens DIR/metrics.jsonl for appending.
  explicit MetricsLog(const std::string& dir);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Appends `record` (a JSON object) as one line and flushes.
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Every record of a metrics.jsonl file, in order; throws naming the file and the line
// number of anything that is not a JSON object. Empty lines are skipped.
std::vector<nlohmann::json> read_metrics(const std::string& path);

}  // namespace moe::train
