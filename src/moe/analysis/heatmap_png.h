// analysis/heatmap_png.h: a matrix as a heatmap PNG (libpng), e.g. the sentiment
// classifier's expert x class routing shares. One square cell of `cell` pixels per entry
// (row r = pixel rows r*cell .. r*cell+cell-1), separated by a 1-pixel grey grid line at
// the right and bottom of each cell; the colour runs from white (0) to dark blue (the
// matrix's maximum), linear in the value. 8-bit RGB, no text (axes are in the caller's
// table). Image size: cols * cell by rows * cell pixels.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace moe::analysis {

// values: rows of equal length, all finite and >= 0. Throws naming the file on failure.
void write_heatmap_png(const std::string& path, const std::vector<std::vector<double>>& values, int64_t cell = 48);

}  // namespace moe::analysis
