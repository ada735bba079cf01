// data/hershey.cpp: .jhf parsing, the jittered anti-aliased rasteriser and the
// Hershey class split (see hershey.h for the format and the class definition).
#include "moe/data/hershey.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>
#include <set>

#include "moe/core/error.h"
#include "moe/io/atomic_file.h"

namespace moe::data {

namespace {

// The integer in a blank-padded fixed-width field, or -1 when it is not one.
int64_t parse_field(const std::string& field) {
  int64_t value = 0;
  bool digits = false;
  for (char c : field) {
    if (c == ' ') {
      if (digits) return -1;  // a blank after the digits
      continue;
    }
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
    digits = true;
  }
  return digits ? value : -1;
}

std::string printable(const std::string& s) {
  std::string out;
  for (char c : s) out += (c >= ' ' && c <= '~') ? std::string(1, c) : fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
  return out;
}

}  // namespace

HersheyFont parse_jhf(const std::string& text, const std::string& origin, const std::string& name) {
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  HersheyFont font;
  font.name = name;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(' ') == std::string::npos) continue;  // blank line
    const size_t first_line = i + 1;
    std::string record = lines[i];
    MOE_CHECK(record.size() >= 10, "{}:{}: a glyph record needs at least 10 characters (id, count, bounds), got '{}'",
              origin, first_line, printable(record));
    HersheyGlyph g;
    g.id = parse_field(record.substr(0, 5));
    MOE_CHECK(g.id >= 0, "{}:{}: columns 1-5 must be the glyph number, got '{}'", origin, first_line,
              printable(record.substr(0, 5)));
    const int64_t vertices = parse_field(record.substr(5, 3));
    MOE_CHECK(vertices >= 1, "{}:{}: columns 6-8 must be a vertex count >= 1, got '{}'", origin, first_line,
              printable(record.substr(5, 3)));
    const size_t needed = 8 + 2 * static_cast<size_t>(vertices);
    while (record.size() < needed && i + 1 < lines.size()) record += lines[++i];  // 72-column continuation
    MOE_CHECK(record.size() >= needed,
              "{}:{}: glyph {} announces {} vertices ({} characters) but its record ends after {} characters", origin,
              first_line, g.id, vertices, needed, record.size());
    MOE_CHECK(record.find_first_not_of(' ', needed) == std::string::npos,
              "{}:{}: glyph {} has {} vertices but its record has extra characters '{}' (a wrong count?)", origin,
              i + 1, g.id, vertices, printable(record.substr(needed)));
    for (size_t p = 8; p < needed; ++p)
      MOE_CHECK(record[p] >= ' ' && record[p] <= '~', "{}:{}: glyph {}: character {} is not printable ('{}')", origin,
                i + 1, g.id, p + 1, printable(record.substr(p, 1)));
    MOE_CHECK(record[8] != ' ' && record[9] != ' ', "{}:{}: glyph {}: the bounds '{}' must be two non-blank characters",
              origin, first_line, g.id, record.substr(8, 2));
    g.left = record[8] - 'R';
    g.right = record[9] - 'R';
    std::vector<std::pair<int, int>> stroke;
    for (size_t p = 10; p < needed; p += 2) {
      const char cx = record[p], cy = record[p + 1];
      if (cx == ' ') {
        MOE_CHECK(cy == 'R', "{}:{}: glyph {}: vertex {} is '{}{}': a blank x is only valid in the pen-up pair ' R'",
                  origin, first_line, g.id, (p - 8) / 2, cx, cy);
        if (!stroke.empty()) g.strokes.push_back(std::move(stroke));
        stroke.clear();
        continue;
      }
      MOE_CHECK(cy != ' ', "{}:{}: glyph {}: vertex {} has a blank y ('{}{}')", origin, first_line, g.id, (p - 8) / 2,
                cx, cy);
      stroke.emplace_back(cx - 'R', cy - 'R');
    }
    if (!stroke.empty()) g.strokes.push_back(std::move(stroke));
    font.glyphs.push_back(std::move(g));
  }
  MOE_CHECK(!font.glyphs.empty(), "{}: no glyph records (expected .jhf lines 'NNNNNVVV<bounds><coordinates>')", origin);
  return font;
}

HersheyFont read_jhf(const std::string& path) {
  MOE_CHECK(std::filesystem::is_regular_file(path), "hershey: '{}' is not a file", path);
  return parse_jhf(io::read_file(path), path, std::filesystem::path(path).stem().string());
}

std::vector<HersheyFont> read_hershey_dir(const std::string& dir) {
  MOE_CHECK(std::filesystem::is_directory(dir),
            "hershey: '{}' is not a directory (install Debian's hershey-fonts-data: /usr/share/hershey-fonts)", dir);
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".jhf") paths.push_back(entry.path().string());
  std::sort(paths.begin(), paths.end());
  MOE_CHECK(!paths.empty(), "hershey: '{}' holds no .jhf files", dir);
  std::vector<HersheyFont> fonts;
  for (const auto& p : paths) fonts.push_back(read_jhf(p));
  return fonts;
}

namespace {

// Squared distance from (px, py) to the segment a-b.
double segment_dist2(double px, double py, double ax, double ay, double bx, double by) {
  const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double ex = px - (ax + t * dx), ey = py - (ay + t * dy);
  return ex * ex + ey * ey;
}

double symmetric(Rng& rng, double range) { return range * (2.0 * rng.uniform() - 1.0); }

}  // namespace

std::vector<float> rasterise_glyph(const HersheyGlyph& glyph, const RasterOptions& o, Rng* rng) {
  MOE_CHECK(o.size >= 4 && o.size <= 512 && o.box > 0, "rasterise_glyph: need 4 <= size <= 512 and box > 0, got {}, {}",
            o.size, o.box);
  const auto n = static_cast<size_t>(o.size);
  std::vector<float> image(n * n, 0.0f);
  if (glyph.empty()) return image;
  int min_x = 1 << 20, max_x = -(1 << 20), min_y = 1 << 20, max_y = -(1 << 20);
  for (const auto& s : glyph.strokes)
    for (auto [x, y] : s) min_x = std::min(min_x, x), max_x = std::max(max_x, x), min_y = std::min(min_y, y), max_y = std::max(max_y, y);
  const double cx = 0.5 * (min_x + max_x), cy = 0.5 * (min_y + max_y);
  const double extent = std::max({static_cast<double>(max_x - min_x), static_cast<double>(max_y - min_y), o.min_extent});
  const double base = o.box / extent;  // pixels per font unit

  // The affine map (font units, centred) -> pixels: translate(centre + t) * R * Shear * S * base.
  double a11 = base, a12 = 0, a21 = 0, a22 = base, tx = 0.5 * static_cast<double>(o.size), ty = tx;
  double width = o.jitter.thickness, noise = 0;
  if (rng) {
    const GlyphJitter& j = o.jitter;
    const double angle = symmetric(*rng, j.rotation_deg) * std::numbers::pi / 180.0;
    const double sx = 1.0 + symmetric(*rng, j.scale), sy = 1.0 + symmetric(*rng, j.scale);
    const double shear = symmetric(*rng, j.shear);
    tx += symmetric(*rng, j.translate);
    ty += symmetric(*rng, j.translate);
    width = std::max(0.5, j.thickness + symmetric(*rng, j.thickness_jitter));
    noise = j.vertex_noise;
    // M = R * [[1, shear], [0, 1]] * diag(sx, sy) * base
    const double c = std::cos(angle), s = std::sin(angle);
    const double m11 = sx, m12 = shear * sy, m21 = 0, m22 = sy;
    a11 = base * (c * m11 - s * m21), a12 = base * (c * m12 - s * m22);
    a21 = base * (s * m11 + c * m21), a22 = base * (s * m12 + c * m22);
  }
  const double half = 0.5 * width;
  for (const auto& stroke : glyph.strokes) {
    std::vector<std::pair<double, double>> pts;
    for (auto [x, y] : stroke) {
      double fx = x - cx, fy = y - cy;
      if (rng && noise > 0) fx += symmetric(*rng, noise), fy += symmetric(*rng, noise);
      pts.emplace_back(tx + a11 * fx + a12 * fy, ty + a21 * fx + a22 * fy);
    }
    // A one-vertex stroke is a dot: the segment from the vertex to itself.
    const size_t segments = std::max<size_t>(1, pts.size() - 1);
    for (size_t k = 0; k < segments; ++k) {
      const auto [ax, ay] = pts[k];
      const auto [bx, by] = pts[std::min(k + 1, pts.size() - 1)];
      const double reach = half + 1.0;
      const int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::min(ax, bx) - reach)));
      const int64_t x1 = std::min<int64_t>(o.size - 1, static_cast<int64_t>(std::ceil(std::max(ax, bx) + reach)));
      const int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::min(ay, by) - reach)));
      const int64_t y1 = std::min<int64_t>(o.size - 1, static_cast<int64_t>(std::ceil(std::max(ay, by) + reach)));
      for (int64_t py = y0; py <= y1; ++py)
        for (int64_t px = x0; px <= x1; ++px) {
          const double d = std::sqrt(segment_dist2(static_cast<double>(px) + 0.5, static_cast<double>(py) + 0.5, ax, ay, bx, by));
          const auto v = static_cast<float>(std::clamp(half + 0.5 - d, 0.0, 1.0));
          float& dst = image[static_cast<size_t>(py) * n + static_cast<size_t>(px)];
          dst = std::max(dst, v);
        }
    }
  }
  return image;
}

GlyphSplit split_glyph_classes(const std::vector<HersheyFont>& fonts, const std::vector<std::string>& test_fonts) {
  std::set<std::string> names, held_out(test_fonts.begin(), test_fonts.end());
  for (const auto& f : fonts) names.insert(f.name);
  for (const auto& t : test_fonts)
    MOE_CHECK(names.count(t), "hershey split: test font '{}' is not among the {} fonts read", t, fonts.size());
  MOE_CHECK(!held_out.empty() && held_out.size() < names.size(),
            "hershey split: need at least one test font and one training font, got {} test of {}", held_out.size(),
            names.size());
  using Strokes = std::vector<std::vector<std::pair<int, int>>>;
  GlyphSplit split;
  split.test_fonts = test_fonts;
  std::set<Strokes> test_shapes, train_shapes;
  for (const auto& f : fonts) {
    if (!held_out.count(f.name)) continue;
    for (size_t p = 0; p < f.glyphs.size(); ++p)
      if (!f.glyphs[p].empty() && test_shapes.insert(f.glyphs[p].strokes).second)
        split.test.push_back({f.name, static_cast<int64_t>(p), f.glyphs[p]});
  }
  for (const auto& f : fonts) {
    if (held_out.count(f.name)) continue;
    for (size_t p = 0; p < f.glyphs.size(); ++p) {
      const Strokes& s = f.glyphs[p].strokes;
      if (!s.empty() && !test_shapes.count(s) && train_shapes.insert(s).second)
        split.train.push_back({f.name, static_cast<int64_t>(p), f.glyphs[p]});
    }
  }
  return split;
}

std::vector<std::string> choose_test_fonts(const std::vector<HersheyFont>& fonts, double fraction, uint64_t seed) {
  MOE_CHECK(fonts.size() >= 2, "hershey split: need at least two fonts, got {}", fonts.size());
  MOE_CHECK(fraction > 0 && fraction < 1, "hershey split: test_fraction must be in (0, 1), got {}", fraction);
  std::vector<std::string> names;
  for (const auto& f : fonts) names.push_back(f.name);
  Rng rng(seed);
  for (size_t i = names.size(); i > 1; --i)  // Fisher-Yates with the Philox stream
    std::swap(names[i - 1], names[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(i)))]);
  const auto count = std::clamp<size_t>(static_cast<size_t>(std::lround(fraction * static_cast<double>(names.size()))), 1,
                                        names.size() - 1);
  names.resize(count);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace moe::data
