// analysis/heatmap_png.cpp: heatmap pixels, written through libpng's simplified API.
#include "moe/analysis/heatmap_png.h"

#include <png.h>

#include <algorithm>
#include <cmath>

#include "moe/core/error.h"

namespace moe::analysis {

void write_heatmap_png(const std::string& path, const std::vector<std::vector<double>>& values, int64_t cell) {
  MOE_CHECK(!values.empty() && !values[0].empty(), "heatmap png: empty matrix for {}", path);
  MOE_CHECK(cell >= 2 && cell <= 1024, "heatmap png: cell must be in [2, 1024] pixels, got {}", cell);
  const int64_t R = static_cast<int64_t>(values.size()), C = static_cast<int64_t>(values[0].size());
  double mx = 0;
  for (const auto& row : values) {
    MOE_CHECK(static_cast<int64_t>(row.size()) == C, "heatmap png: ragged matrix for {}", path);
    for (double v : row) {
      MOE_CHECK(std::isfinite(v) && v >= 0, "heatmap png: values must be finite and >= 0, got {}", v);
      mx = std::max(mx, v);
    }
  }
  const int64_t W = C * cell, H = R * cell;
  std::vector<png_byte> px(W * H * 3);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      png_byte* p = &px[(y * W + x) * 3];
      if (x % cell == cell - 1 || y % cell == cell - 1) {  // grid line
        p[0] = p[1] = p[2] = 160;
        continue;
      }
      const double t = mx > 0 ? values[y / cell][x / cell] / mx : 0.0;  // white -> (8, 48, 107)
      p[0] = static_cast<png_byte>(std::lround(255 - t * (255 - 8)));
      p[1] = static_cast<png_byte>(std::lround(255 - t * (255 - 48)));
      p[2] = static_cast<png_byte>(std::lround(255 - t * (255 - 107)));
    }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(W);
  image.height = static_cast<png_uint_32>(H);
  image.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&image, path.c_str(), 0, px.data(), 0, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    throw Error(fmt::format("heatmap png: cannot write {}: {}", path, why));
  }
}

}  // namespace moe::analysis
