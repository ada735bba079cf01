// data/hershey.h: the Hershey stroke fonts (Debian's hershey-fonts-data, .jhf files) as
// an Omniglot-like few-shot character set: a .jhf parser, a deterministic jittered
// rasteriser (strokes -> a small grayscale image) and the class list with a disjoint
// meta-train / meta-test split. Episode sampling is in data/episodes.h.
//
// .jhf format, one glyph per record:
//   columns 1-5   the Hershey glyph number (blank-padded; some files put 12345 everywhere)
//   columns 6-8   the vertex count V, counting the bounds pair
//   columns 9-10  left and right bounds, each a char offset by 'R' (ord(c) - ord('R'))
//   then V-1 coordinate pairs "xy", each char offset by 'R' (y grows downwards);
//   the pair " R" lifts the pen (it ends one stroke, the next pair starts another).
// The original distribution wraps long records at 72 columns; a record whose line is
// shorter than 10 + 2 (V-1) characters continues on the following line(s).
//
// Classes (the Omniglot analogy, see README "Memory-augmented few-shot transformer"):
// a class is one distinct glyph drawing of one font file (font, position); its examples
// are renderings under random affine jitter, per-vertex noise and stroke thickness, as
// Omniglot's examples are one character drawn by different people. Fonts play the part
// of alphabets: the split holds out whole font files, and a glyph whose strokes also
// occur in a held-out font (digits shared by several files, say) is dropped from the
// training classes, so no meta-test drawing is ever seen in meta-training.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "moe/core/rng.h"

namespace moe::data {

struct HersheyGlyph {
  int64_t id = 0;                 // the Hershey number (columns 1-5)
  int64_t left = 0, right = 0;    // horizontal extent, relative to the glyph's centre
  // Pen-down polylines of (x, y) vertices in font units, y downwards.
  std::vector<std::vector<std::pair<int, int>>> strokes;
  bool empty() const { return strokes.empty(); }
};

struct HersheyFont {
  std::string name;  // the file's stem ("rowmans")
  std::vector<HersheyGlyph> glyphs;  // in file order (ASCII 32.. for the 96-glyph fonts)
};

// Parses .jhf text; `origin` (a file name) prefixes errors, which name the line and say
// what was expected (a bad count, a coordinate outside the printable range, a record cut
// short at the end of the file).
HersheyFont parse_jhf(const std::string& text, const std::string& origin, const std::string& name);
// Reads and parses one file; the font's name is the file's stem.
HersheyFont read_jhf(const std::string& path);
// Every *.jhf file of `dir`, sorted by name; throws naming the directory when there is none.
std::vector<HersheyFont> read_hershey_dir(const std::string& dir);

// Random distortions of one rendering (all drawn from the Rng, uniformly in +-range).
struct GlyphJitter {
  double rotation_deg = 10.0;   // rotation in degrees
  double scale = 0.12;          // relative: scale in [1 - s, 1 + s] (x and y separately)
  double shear = 0.15;          // x += shear * y
  double translate = 1.5;       // pixels, x and y separately
  double vertex_noise = 0.35;   // font units, independently per vertex (a shaky hand)
  double thickness = 1.6;       // stroke width in pixels (mean)
  double thickness_jitter = 0.4;  // width in [thickness - j, thickness + j]
};

struct RasterOptions {
  int64_t size = 28;  // output is size x size
  double box = 20.0;  // the undistorted glyph's longer side spans this many pixels (MNIST's 20 of 28)
  // Glyphs smaller than this many font units (a period) are not blown up to fill the box.
  double min_extent = 12.0;
  GlyphJitter jitter;
};

// Renders `glyph` into size*size floats in [0, 1] (row-major, row 0 on top), its vertex
// bounding box centred. Each stroke segment is drawn anti-aliased: a pixel's value is
// clamp(width / 2 + 0.5 - d, 0, 1) with d the distance from the pixel centre to the
// segment (a linear coverage ramp one pixel wide); overlapping strokes take the max.
// With `rng` the jitter of `options` is drawn from it (deterministic per seed); with
// nullptr the glyph is drawn undistorted at width options.jitter.thickness.
std::vector<float> rasterise_glyph(const HersheyGlyph& glyph, const RasterOptions& options, Rng* rng);

struct GlyphClass {
  std::string font;
  int64_t position = 0;  // index in the font's file
  HersheyGlyph glyph;
};

struct GlyphSplit {
  std::vector<GlyphClass> train, test;
  std::vector<std::string> test_fonts;
};

// Classes = the non-empty glyphs, one per distinct stroke set within a split (a drawing
// repeated in several files or positions is one class, at its first occurrence). Test
// classes come from the fonts named in `test_fonts` (each must exist); a training glyph
// whose strokes equal a test glyph's is dropped (see the header comment).
GlyphSplit split_glyph_classes(const std::vector<HersheyFont>& fonts, const std::vector<std::string>& test_fonts);
// A seeded random choice of round(fraction * fonts) held-out font names (at least one,
// and at least one font left for training).
std::vector<std::string> choose_test_fonts(const std::vector<HersheyFont>& fonts, double fraction, uint64_t seed);

}  // namespace moe::data
