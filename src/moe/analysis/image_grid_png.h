// analysis/image_grid_png.h: a grid of small grayscale images (values in [0, 1], e.g.
// rendered glyphs) as one 8-bit grayscale PNG, ink dark on white, for figures such as
// docs/results/fewshot/hershey_samples.png. No text: the caller's caption says what the
// rows and columns are.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace moe::analysis {

// images: each side*side floats, row-major; drawn `cols` per row, left to right then top
// to bottom, each pixel as a scale x scale block, with a 2-pixel grey gap between images.
// Values are clamped to [0, 1] (1 = black ink). Throws naming the file on bad sizes or
// a failed write.
void write_image_grid_png(const std::string& path, const std::vector<std::vector<float>>& images, int64_t side,
                          int64_t cols, int64_t scale = 2);

}  // namespace moe::analysis
