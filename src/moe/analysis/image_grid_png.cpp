// analysis/image_grid_png.cpp: the image grid, written through libpng's simplified API.
#include "moe/analysis/image_grid_png.h"

#include <png.h>

#include <algorithm>
#include <cmath>

#include "moe/core/error.h"

namespace moe::analysis {

void write_image_grid_png(const std::string& path, const std::vector<std::vector<float>>& images, int64_t side,
                          int64_t cols, int64_t scale) {
  MOE_CHECK(!images.empty(), "image grid png: no images for {}", path);
  MOE_CHECK(side >= 1 && cols >= 1 && scale >= 1 && scale <= 64,
            "image grid png: need side >= 1, cols >= 1 and 1 <= scale <= 64 for {}, got {}, {}, {}", path, side, cols,
            scale);
  for (size_t i = 0; i < images.size(); ++i)
    MOE_CHECK(static_cast<int64_t>(images[i].size()) == side * side,
              "image grid png: image {} has {} values, expected {}x{} for {}", i, images[i].size(), side, side, path);
  const int64_t gap = 2, n = static_cast<int64_t>(images.size()), rows = (n + cols - 1) / cols;
  const int64_t cell = side * scale + gap;
  const int64_t W = cols * cell + gap, H = rows * cell + gap;
  std::vector<png_byte> px(static_cast<size_t>(W * H), 200);  // grey gaps
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x0 = gap + (i % cols) * cell, y0 = gap + (i / cols) * cell;
    const std::vector<float>& img = images[static_cast<size_t>(i)];
    for (int64_t y = 0; y < side * scale; ++y)
      for (int64_t x = 0; x < side * scale; ++x) {
        const double v = std::clamp(static_cast<double>(img[static_cast<size_t>((y / scale) * side + x / scale)]), 0.0, 1.0);
        px[static_cast<size_t>((y0 + y) * W + x0 + x)] = static_cast<png_byte>(std::lround(255.0 * (1.0 - v)));
      }
  }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(W);
  image.height = static_cast<png_uint_32>(H);
  image.format = PNG_FORMAT_GRAY;
  if (!png_image_write_to_file(&image, path.c_str(), 0, px.data(), 0, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    throw Error(fmt::format("image grid png: cannot write {}: {}", path, why));
  }
}

}  // namespace moe::analysis
