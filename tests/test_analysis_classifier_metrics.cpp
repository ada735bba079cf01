// Classifier routing metrics on hand-made expert x class counts (utilization,
// load-balance variance, class entropy, specialization index), and the heatmap PNG
// read back with libpng (a valid image of the right size and colours).
#include <png.h>

#include <cmath>

#include "moe/analysis/classifier_metrics.h"
#include "moe/analysis/heatmap_png.h"
#include "test_util.h"

using namespace moe;
using namespace moe::analysis;

TEST(ClassifierMetrics, PerfectSpecialisationAndBalance) {
  // 3 experts, each receives only one class, equally often.
  ClassifierMetrics m = classifier_metrics({{10, 0, 0}, {0, 10, 0}, {0, 0, 10}}, 0.9);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.9);
  for (double u : m.utilization) EXPECT_NEAR(u, 1.0 / 3, 1e-15);
  EXPECT_NEAR(m.load_balance_variance, 0.0, 1e-15);
  EXPECT_NEAR(m.expert_class_entropy, 0.0, 1e-15);
  EXPECT_NEAR(m.specialization_index, 1.0, 1e-15);
}

TEST(ClassifierMetrics, UniformClassesAndACollapsedExpert) {
  // Expert 0 gets 3/4 of the decisions, all classes equally; expert 1 the rest, one class;
  // experts 2 and 3 nothing.
  ClassifierMetrics m = classifier_metrics({{10, 10, 10, 10}, {0, 0, 0, 40}, {0, 0, 0, 0}, {0, 0, 0, 0}}, 0.5);
  // expert 0: 40 decisions, expert 1: 40 -> utilization 1/2, 1/2, 0, 0
  EXPECT_EQ(m.utilization, (std::vector<double>{0.5, 0.5, 0.0, 0.0}));
  // variance of (0.5, 0.5, 0, 0) around 1/4: (4 * 1/16) / 4 = 1/16
  EXPECT_NEAR(m.load_balance_variance, 1.0 / 16, 1e-15);
  EXPECT_NEAR(m.class_entropy[0], 1.0, 1e-15);  // log 4 / log 4
  EXPECT_NEAR(m.class_entropy[1], 0.0, 1e-15);
  EXPECT_EQ(m.class_entropy[2], 0.0);           // idle
  EXPECT_NEAR(m.expert_class_entropy, 0.5, 1e-15);
  EXPECT_NEAR(m.specialization_index, 0.5, 1e-15);
}

TEST(ClassifierMetrics, HandComputedEntropy) {
  // Two experts, two classes, 40 decisions each: expert 0 sees the classes 3:1, expert 1 one class.
  ClassifierMetrics m = classifier_metrics({{30, 10}, {0, 40}}, 0.0);
  const double h0 = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25)) / std::log(2.0);
  EXPECT_NEAR(m.class_entropy[0], h0, 1e-14);
  EXPECT_NEAR(m.expert_class_entropy, 0.5 * h0, 1e-14);
  EXPECT_NEAR(m.load_balance_variance, 0.0, 1e-15);
  nlohmann::json j = m.to_json();
  EXPECT_EQ(j["expert_class_counts"][1][1], 40);
  EXPECT_NEAR(j["specialization_index"].get<double>(), 1 - 0.5 * h0, 1e-14);
}

TEST(ClassifierMetrics, BadCountsThrow) {
  EXPECT_THROW(classifier_metrics({}, 0), Error);
  EXPECT_THROW(classifier_metrics({{1}}, 0), Error);           // one class
  EXPECT_THROW(classifier_metrics({{1, 2}, {3}}, 0), Error);   // ragged
  EXPECT_THROW(classifier_metrics({{1, -2}}, 0), Error);       // negative
  EXPECT_THROW(classifier_metrics({{0, 0}, {0, 0}}, 0), Error);  // no decisions
}

TEST(HeatmapPng, ValidImageOfTheRightSize) {
  const std::string path = moe::test::test_tmp_dir() + "/heat.png";
  write_heatmap_png(path, {{1.0, 0.0, 0.5}, {0.0, 0.25, 0.0}, {0.1, 0.2, 0.3}, {0, 0, 1}}, 10);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&image, path.c_str())) << image.message;
  EXPECT_EQ(image.width, 3u * 10);   // classes across
  EXPECT_EQ(image.height, 4u * 10);  // experts down
  image.format = PNG_FORMAT_RGB;
  std::vector<png_byte> px(PNG_IMAGE_SIZE(image));
  ASSERT_TRUE(png_image_finish_read(&image, nullptr, px.data(), 0, nullptr)) << image.message;
  auto at = [&](int x, int y) { return std::vector<int>{px[(y * 30 + x) * 3], px[(y * 30 + x) * 3 + 1], px[(y * 30 + x) * 3 + 2]}; };
  EXPECT_EQ(at(2, 2), (std::vector<int>{8, 48, 107}));     // the maximum: dark blue
  EXPECT_EQ(at(12, 2), (std::vector<int>{255, 255, 255})); // zero: white
  EXPECT_EQ(at(9, 2), (std::vector<int>{160, 160, 160}));  // grid line
  EXPECT_THROW(write_heatmap_png(path, {}, 10), Error);
  EXPECT_THROW(write_heatmap_png(path, {{1.0, NAN}}, 10), Error);
  EXPECT_THROW(write_heatmap_png("/nonexistent_dir/x.png", {{1.0}}, 10), Error);
}
