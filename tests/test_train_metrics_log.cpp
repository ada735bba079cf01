// MetricsLog: one JSON object per line, appended across reopenings (resume), flushed
// per record, a torn last line dropped on reopen, and read_metrics' errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "moe/core/error.h"
#include "moe/io/atomic_file.h"
#include "moe/train/metrics_log.h"

using namespace moe;
using namespace moe::train;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "moe_test_metrics_log" / name;
  fs::remove_all(dir);
  return dir.string();
}

}  // namespace

TEST(MetricsLog, AppendsOneFlushedJsonObjectPerLine) {
  const std::string dir = fresh_dir("append");
  MetricsLog log(dir);  // creates the directory
  EXPECT_EQ(log.path(), (fs::path(dir) / "metrics.jsonl").string());
  log.write({{"step", 1}, {"loss", 2.5}, {"split", "train"}});
  // Flushed: readable while the log is still open.
  EXPECT_EQ(io::read_file(log.path()), "{\"loss\":2.5,\"split\":\"train\",\"step\":1}\n");
  log.write({{"step", 2}, {"loss", NAN}});
  auto records = read_metrics(log.path());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["split"], "train");
  EXPECT_EQ(records[1]["step"], 2);
  EXPECT_TRUE(records[1]["loss"].is_null());  // NaN has no JSON form
  EXPECT_THROW(log.write(nlohmann::json::array({1, 2})), Error);
}

TEST(MetricsLog, ReopeningAppendsAndDropsATornLastLine) {
  const std::string dir = fresh_dir("resume");
  { MetricsLog(dir).write({{"step", 1}}); }
  {
    std::ofstream f((fs::path(dir) / "metrics.jsonl").string(), std::ios::app);
    f << "{\"step\": 2, \"lo";  // a crash mid-write
  }
  MetricsLog log(dir);
  log.write({{"step", 3}});
  auto records = read_metrics(log.path());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["step"], 1);
  EXPECT_EQ(records[1]["step"], 3);
}

TEST(MetricsLog, ReadMetricsNamesFileAndLine) {
  const std::string dir = fresh_dir("bad");
  fs::create_directories(dir);
  const std::string path = (fs::path(dir) / "metrics.jsonl").string();
  io::write_file_atomic(path, "{\"step\": 1}\n\n{\"step\": 2\n");
  try {
    read_metrics(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":3"), std::string::npos) << e.what();
  }
  io::write_file_atomic(path, "{\"step\": 1}\n[1]\n");
  EXPECT_THROW(read_metrics(path), Error);
  EXPECT_THROW(read_metrics((fs::path(dir) / "missing.jsonl").string()), Error);
}
