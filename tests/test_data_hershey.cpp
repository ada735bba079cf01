// Hershey .jhf parsing (hand cases, continuation lines, corrupt input, a fuzz loop), the
// rasteriser (a known stroke lights the right pixels; determinism per seed) and the
// disjoint class split.
#include <filesystem>
#include <fstream>

#include "moe/data/hershey.h"
#include "test_util.h"

using namespace moe;
using namespace moe::data;
using namespace moe::test;

namespace {

// rowmans.jhf's '!' and '-' (Hershey 714 and 724), and an empty glyph (a space).
const std::string kSnippet =
    "  699  1JZ\n"
    "  714  9MWRFRT RRYQZR[SZRY\n"
    "  724  3E_IR[R\n";

using Stroke = std::vector<std::pair<int, int>>;

}  // namespace

TEST(Hershey, ParsesHandWrittenGlyphs) {
  const HersheyFont f = parse_jhf(kSnippet, "snippet.jhf", "snippet");
  EXPECT_EQ(f.name, "snippet");
  ASSERT_EQ(f.glyphs.size(), 3u);
  EXPECT_EQ(f.glyphs[0].id, 699);
  EXPECT_TRUE(f.glyphs[0].empty());
  EXPECT_EQ(f.glyphs[0].left, 'J' - 'R');
  EXPECT_EQ(f.glyphs[0].right, 'Z' - 'R');
  const HersheyGlyph& bang = f.glyphs[1];
  EXPECT_EQ(bang.id, 714);
  EXPECT_EQ(bang.left, -5);
  EXPECT_EQ(bang.right, 5);
  ASSERT_EQ(bang.strokes.size(), 2u);
  EXPECT_EQ(bang.strokes[0], (Stroke{{0, -12}, {0, 2}}));
  EXPECT_EQ(bang.strokes[1], (Stroke{{0, 7}, {-1, 8}, {0, 9}, {1, 8}, {0, 7}}));
  EXPECT_EQ(f.glyphs[2].strokes, (std::vector<Stroke>{{{-9, 0}, {9, 0}}}));
}

TEST(Hershey, JoinsContinuationLinesAndSkipsBlankLines) {
  // The '!' record wrapped after its first stroke, as the 72-column originals wrap; CRLF too.
  const std::string wrapped = "  714  9MWRFRT R\r\nRYQZR[SZRY\r\n\n  724  3E_IR[R\n";
  const HersheyFont f = parse_jhf(wrapped, "wrapped.jhf", "w");
  ASSERT_EQ(f.glyphs.size(), 2u);
  EXPECT_EQ(f.glyphs[0].strokes, parse_jhf(kSnippet, "s", "s").glyphs[1].strokes);
  EXPECT_EQ(f.glyphs[1].id, 724);
}

TEST(Hershey, CorruptInputNamesFileAndLine) {
  expect_error([] { parse_jhf("  714  9MWRFRT\n", "cut.jhf", "x"); }, {"cut.jhf:1", "714", "9 vertices"});
  expect_error([] { parse_jhf("  699  1JZ\n  7x4  3E_IR[R\n", "id.jhf", "x"); }, {"id.jhf:2", "glyph number"});
  expect_error([] { parse_jhf("  724  0E_\n", "count.jhf", "x"); }, {"count.jhf:1", "vertex count"});
  expect_error([] { parse_jhf("  724  2E_IR[R\n", "extra.jhf", "x"); }, {"extra.jhf:1", "extra characters"});
  expect_error([] { parse_jhf("  724  3E_ X[R\n", "penup.jhf", "x"); }, {"penup.jhf:1", "pen-up"});
  expect_error([] { parse_jhf("  724  3E_I [R\n", "blank.jhf", "x"); }, {"blank.jhf:1", "blank y"});
  expect_error([] { parse_jhf("  724  3E_IR\x01R\n", "ctrl.jhf", "x"); }, {"ctrl.jhf:1", "not printable"});
  expect_error([] { parse_jhf("  724\n", "short.jhf", "x"); }, {"short.jhf:1", "at least 10"});
  expect_error([] { parse_jhf("\n\n", "empty.jhf", "x"); }, {"empty.jhf", "no glyph records"});
  expect_error([] { read_jhf("/nonexistent/font.jhf"); }, {"/nonexistent/font.jhf"});
  expect_error([] { read_hershey_dir("/nonexistent"); }, {"/nonexistent", "hershey-fonts-data"});
}

TEST(Hershey, FuzzedInputParsesOrThrowsMoeError) {
  Rng rng(3);
  const std::string base = kSnippet + "  733 12H]SBLb RYBRb RLOZO RKUYU\n";
  const std::string alphabet = " R0123456789\n\rAZaz[]\x7f\x01";
  int parsed = 0, rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text = base;
    const int64_t edits = rng.randint(1, 4);
    for (int64_t e = 0; e < edits; ++e) {
      const auto pos = static_cast<size_t>(rng.randint(0, static_cast<int64_t>(text.size())));
      const char c = alphabet[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(alphabet.size())))];
      switch (rng.randint(0, 3)) {
        case 0: text[pos] = c; break;
        case 1: text.insert(pos, 1, c); break;
        default: text.erase(pos, 1); break;
      }
    }
    try {
      const HersheyFont f = parse_jhf(text, "fuzz.jhf", "fuzz");
      for (const auto& g : f.glyphs)
        for (const auto& s : g.strokes)
          for (auto [x, y] : s) ASSERT_TRUE(x >= ' ' - 'R' && x <= '~' - 'R' && y >= '!' - 'R' && y <= '~' - 'R');
      ++parsed;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("fuzz.jhf"), std::string::npos) << e.what();
      ++rejected;
    }
  }
  EXPECT_GT(parsed, 0);
  EXPECT_GT(rejected, 0);
}

TEST(Hershey, HorizontalStrokeLightsTheCentreRows) {
  HersheyGlyph g;
  g.strokes = {{{-10, 0}, {10, 0}}};
  RasterOptions o;  // size 28, box 20: 1 pixel per font unit for this 20-unit glyph
  o.jitter.thickness = 2.0;
  const std::vector<float> img = rasterise_glyph(g, o, nullptr);
  ASSERT_EQ(img.size(), 28u * 28u);
  // The stroke runs along y = 14 from x = 4 to x = 24; width 2 covers the pixel rows
  // 13 and 14 (centres 0.5 away) fully and nothing else.
  for (int64_t y = 0; y < 28; ++y)
    for (int64_t x = 0; x < 28; ++x) {
      const float v = img[static_cast<size_t>(y * 28 + x)];
      if (y != 13 && y != 14) EXPECT_EQ(v, 0.0f) << y << "," << x;
      else if (x >= 4 && x <= 23) EXPECT_FLOAT_EQ(v, 1.0f) << y << "," << x;
      else if (x <= 1 || x >= 26) EXPECT_EQ(v, 0.0f) << y << "," << x;
    }
  // An anti-aliased edge: a thinner stroke gives half-covered pixels.
  o.jitter.thickness = 1.0;
  const std::vector<float> thin = rasterise_glyph(g, o, nullptr);
  EXPECT_FLOAT_EQ(thin[13 * 28 + 10], 0.5f);
  EXPECT_FLOAT_EQ(thin[14 * 28 + 10], 0.5f);
  EXPECT_FLOAT_EQ(thin[12 * 28 + 10], 0.0f);
}

TEST(Hershey, JitterIsDeterministicPerSeed) {
  const HersheyGlyph g = parse_jhf(kSnippet, "s", "s").glyphs[1];
  RasterOptions o;
  Rng a(11), b(11), c(12);
  const std::vector<float> ia = rasterise_glyph(g, o, &a), ib = rasterise_glyph(g, o, &b), ic = rasterise_glyph(g, o, &c);
  EXPECT_EQ(ia, ib);
  EXPECT_NE(ia, ic);
  double ink = 0;
  for (float v : ia) {
    ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
    ink += v;
  }
  EXPECT_GT(ink, 10.0);
  const std::vector<float> next = rasterise_glyph(g, o, &a);  // the stream moved on
  EXPECT_NE(ia, next);
  EXPECT_EQ(rasterise_glyph(parse_jhf(kSnippet, "s", "s").glyphs[0], o, &a), std::vector<float>(28 * 28, 0.0f));
}

TEST(Hershey, SplitIsDisjointAndDropsSharedDrawings) {
  HersheyFont a = parse_jhf(kSnippet, "a", "a");
  HersheyFont b = parse_jhf("  714  9MWRFRT RRYQZR[SZRY\n  733 12H]SBLb RYBRb RLOZO RKUYU\n", "b", "b");
  HersheyFont c = parse_jhf("  720  3G][BIb\n  724  3E_IR[R\n", "c", "c");
  const GlyphSplit s = split_glyph_classes({a, b, c}, {"b"});
  // Test: b's two glyphs. Train: a's '-' and c's '/' ('!' is b's; a's space is empty; c's '-' repeats a's).
  ASSERT_EQ(s.test.size(), 2u);
  EXPECT_EQ(s.test[0].font, "b");
  ASSERT_EQ(s.train.size(), 2u);
  EXPECT_EQ(s.train[0].font, "a");
  EXPECT_EQ(s.train[0].position, 2);
  EXPECT_EQ(s.train[1].font, "c");
  EXPECT_EQ(s.train[1].position, 0);
  for (const auto& tr : s.train)
    for (const auto& te : s.test) EXPECT_NE(tr.glyph.strokes, te.glyph.strokes);
  expect_error([&] { split_glyph_classes({a, b}, {"zz"}); }, {"'zz'"});
  expect_error([&] { split_glyph_classes({a, b}, {"a", "b"}); }, {"training font"});
  const std::vector<std::string> t1 = choose_test_fonts({a, b, c}, 0.3, 5), t2 = choose_test_fonts({a, b, c}, 0.3, 5);
  EXPECT_EQ(t1, t2);
  EXPECT_EQ(t1.size(), 1u);
}

TEST(Hershey, DebianFontsParseWhenInstalled) {
  const std::string dir = "/usr/share/hershey-fonts";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "hershey-fonts-data is not installed";
  const std::vector<HersheyFont> fonts = read_hershey_dir(dir);
  EXPECT_GE(fonts.size(), 30u);
  const auto rowmans = std::find_if(fonts.begin(), fonts.end(), [](const HersheyFont& f) { return f.name == "rowmans"; });
  ASSERT_NE(rowmans, fonts.end());
  ASSERT_EQ(rowmans->glyphs.size(), 96u);
  EXPECT_EQ(rowmans->glyphs[1].strokes, parse_jhf(kSnippet, "s", "s").glyphs[1].strokes);  // '!'
}
