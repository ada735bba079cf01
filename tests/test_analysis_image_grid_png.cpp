// The image-grid PNG: size, pixel values (ink dark on white, grey gaps) read back with
// libpng, and errors.
#include <png.h>

#include "moe/analysis/image_grid_png.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

TEST(ImageGridPng, WritesTheGridReadableByLibpng) {
  const std::string path = test_tmp_dir() + "/grid.png";
  // Three 2x2 images, two per row, scale 3: (2 * (2*3 + 2) + 2) x (2 * (2*3 + 2) + 2) = 18 x 18.
  analysis::write_image_grid_png(path, {{1, 0, 0, 0.5f}, {0, 0, 0, 0}, {0, 1, 1, 0}}, 2, 2, 3);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&image, path.c_str())) << image.message;
  image.format = PNG_FORMAT_GRAY;
  EXPECT_EQ(image.width, 18u);
  EXPECT_EQ(image.height, 18u);
  std::vector<png_byte> px(PNG_IMAGE_SIZE(image));
  ASSERT_TRUE(png_image_finish_read(&image, nullptr, px.data(), 0, nullptr)) << image.message;
  auto at = [&](int x, int y) { return static_cast<int>(px[static_cast<size_t>(y * 18 + x)]); };
  EXPECT_EQ(at(0, 0), 200);   // gap
  EXPECT_EQ(at(2, 2), 0);     // image 0, pixel (0, 0) = 1: black
  EXPECT_EQ(at(4, 4), 0);     // same pixel, scaled 3x
  EXPECT_EQ(at(5, 2), 255);   // image 0, pixel (1, 0) = 0: white
  EXPECT_EQ(at(6, 6), 128);   // image 0, pixel (1, 1) = 0.5
  EXPECT_EQ(at(10, 2), 255);  // image 1: blank
  EXPECT_EQ(at(5, 10), 0);    // image 2, pixel (1, 0)
  EXPECT_EQ(at(12, 12), 200);  // the empty fourth cell stays grey
}

TEST(ImageGridPng, ErrorsNameTheFile) {
  expect_error([] { analysis::write_image_grid_png("a.png", {}, 2, 2); }, {"a.png", "no images"});
  expect_error([] { analysis::write_image_grid_png("b.png", {{0, 0, 0}}, 2, 2); }, {"b.png", "3 values"});
  expect_error([] { analysis::write_image_grid_png("/nonexistent/dir/c.png", {{0}}, 1, 1); }, {"/nonexistent/dir/c.png"});
}
