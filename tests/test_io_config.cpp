// ConfigReader: typed reads, defaults, nested objects, unknown/missing/mistyped keys.
#include "moe/io/config.h"
#include "test_util.h"

using namespace moe;
using namespace moe::io;
using namespace moe::test;


TEST(Config, TypedReadsAndDefaults) {
  auto c = ConfigReader::from_string(R"({"n": 3, "lr": 0.5, "name": "x", "on": true, "ids": [1, 2],
                                         "model": {"d": 8, "acts": ["relu"]}})", "c.json");
  EXPECT_EQ(c.require<int64_t>("n"), 3);
  EXPECT_DOUBLE_EQ(c.require<double>("lr"), 0.5);
  EXPECT_DOUBLE_EQ(c.get<double>("n", 0), 3.0);  // integers are numbers
  EXPECT_EQ(c.require<std::string>("name"), "x");
  EXPECT_TRUE(c.require<bool>("on"));
  EXPECT_EQ(c.require<std::vector<int64_t>>("ids"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.get<int64_t>("absent", 7), 7);
  auto m = c.child("model");
  EXPECT_EQ(m.require<int64_t>("d"), 8);
  EXPECT_EQ(m.require<std::vector<std::string>>("acts")[0], "relu");
  EXPECT_NO_THROW(m.finish());
  EXPECT_NO_THROW(c.finish());
}

TEST(Config, ErrorsNameFileAndKey) {
  auto c = ConfigReader::from_string(R"({"n": "3", "model": {"d": 1.5, "typo": 1}})", "c.json");
  EXPECT_NE(error_of([&] { c.require<int64_t>("n"); }).find("c.json: n: expected an integer, got a string"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.require<int64_t>("missing"); }).find("c.json: missing: required key is missing"),
            std::string::npos);
  auto m = c.child("model");
  EXPECT_NE(error_of([&] { m.require<int64_t>("d"); }).find("c.json: model.d: expected an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { m.finish(); }).find("unknown key model.typo"), std::string::npos);
  EXPECT_NE(error_of([] { ConfigReader::from_string("{\"a\":", "bad.json"); }).find("bad.json: not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([] { ConfigReader::from_string("[1]", "arr.json"); }).find("must be a JSON object"),
            std::string::npos);
  EXPECT_NE(error_of([] { ConfigReader::from_file("/nonexistent/x.json"); }).find("/nonexistent/x.json"),
            std::string::npos);
}
