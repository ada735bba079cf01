// The hand-written SVG line chart: well-formed XML (checked by a small parser below),
// one polyline per series with one coordinate pair per finite point, markers, legend,
// dashed reference lines, escaped text, and nice tick steps.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "moe/analysis/svg_plot.h"
#include "moe/core/error.h"

using namespace moe;

namespace {

bool valid_entity_at(const std::string& s, size_t amp) {
  for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
    if (s.compare(amp, std::string(e).size(), e) == 0) return true;
  return false;
}

// "" when `doc` is well-formed XML of the shape render_svg writes (an optional <?xml?>
// prolog, one root element, matched tags, quoted and unique attributes, no raw '<' or
// stray '&' in text or attribute values); otherwise what is wrong and where.
std::string xml_problem(const std::string& doc) {
  size_t i = 0;
  if (doc.compare(0, 5, "<?xml") == 0) {
    i = doc.find("?>");
    if (i == std::string::npos) return "unterminated prolog";
    i += 2;
  }
  std::vector<std::string> stack;
  int roots = 0;
  auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':'; };
  while (i < doc.size()) {
    const size_t lt = doc.find('<', i);
    const std::string text = doc.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    for (size_t a = text.find('&'); a != std::string::npos; a = text.find('&', a + 1))
      if (!valid_entity_at(text, a)) return "bad '&' in text near " + std::to_string(i + a);
    if (stack.empty() && text.find_first_not_of(" \n\t\r") != std::string::npos) return "text outside the root";
    if (lt == std::string::npos) break;
    i = lt + 1;
    if (i < doc.size() && doc[i] == '/') {  // end tag
      const size_t gt = doc.find('>', i);
      if (gt == std::string::npos) return "unterminated end tag";
      const std::string name = doc.substr(i + 1, gt - i - 1);
      if (stack.empty() || stack.back() != name) return "end tag </" + name + "> does not match";
      stack.pop_back();
      i = gt + 1;
      continue;
    }
    size_t n = i;
    while (n < doc.size() && is_name(doc[n])) ++n;
    if (n == i) return "empty element name at " + std::to_string(i);
    const std::string name = doc.substr(i, n - i);
    if (stack.empty() && ++roots > 1) return "more than one root element";
    std::set<std::string> attrs;
    i = n;
    while (true) {
      while (i < doc.size() && std::isspace(static_cast<unsigned char>(doc[i]))) ++i;
      if (i >= doc.size()) return "unterminated tag <" + name;
      if (doc.compare(i, 2, "/>") == 0) {
        i += 2;
        break;
      }
      if (doc[i] == '>') {
        stack.push_back(name);
        ++i;
        break;
      }
      size_t an = i;
      while (an < doc.size() && is_name(doc[an])) ++an;
      if (an == i) return "bad attribute in <" + name + "> at " + std::to_string(i);
      const std::string attr = doc.substr(i, an - i);
      if (!attrs.insert(attr).second) return "repeated attribute " + attr + " in <" + name + ">";
      if (doc.compare(an, 2, "=\"") != 0) return "unquoted attribute " + attr + " in <" + name + ">";
      const size_t close = doc.find('"', an + 2);
      if (close == std::string::npos) return "unterminated attribute " + attr;
      const std::string value = doc.substr(an + 2, close - an - 2);
      if (value.find('<') != std::string::npos) return "'<' in attribute " + attr;
      for (size_t a = value.find('&'); a != std::string::npos; a = value.find('&', a + 1))
        if (!valid_entity_at(value, a)) return "bad '&' in attribute " + attr;
      i = close + 1;
    }
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "no root element";
  return "";
}

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// The (x, y) pairs of each series polyline, in document order.
std::vector<std::vector<std::pair<double, double>>> series_points(const std::string& svg) {
  std::vector<std::vector<std::pair<double, double>>> out;
  const std::regex poly("<polyline class=\"series\"[^>]* points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), poly); it != std::sregex_iterator(); ++it) {
    std::vector<std::pair<double, double>> pts;
    std::istringstream in((*it)[1].str());
    std::string pair;
    while (in >> pair) {
      const size_t comma = pair.find(',');
      pts.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
    }
    out.push_back(pts);
  }
  return out;
}

}  // namespace

TEST(SvgPlot, TheCheckerCatchesBrokenXml) {
  EXPECT_EQ(xml_problem("<svg><g a=\"1\"/></svg>"), "");
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg>a & b</svg>"), "");
  EXPECT_NE(xml_problem("<svg a=1></svg>"), "");
  EXPECT_NE(xml_problem("<svg a=\"1\" a=\"2\"></svg>"), "");
  EXPECT_NE(xml_problem("<svg></svg><svg></svg>"), "");
}

TEST(SvgPlot, OnePolylinePerSeriesWithEveryPoint) {
  LineChart c{.title = "Validation loss", .x_label = "step", .y_label = "loss"};
  std::vector<double> xs, ys;
  for (int i = 0; i < 60; ++i) xs.push_back(i * 10), ys.push_back(3.0 - 0.02 * i);
  c.series = {{"run 1", {0, 10, 20, 30, 40}, {3.0, 2.5, 2.2, 2.1, 2.05}}, {"run 2", {40}, {2.4}}, {"run 3", xs, ys}};
  c.ref_lines = {{0.125, "1/E (E = 8)"}};
  const std::string svg = render_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  auto pts = series_points(svg);
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_EQ(pts[0].size(), 5u);
  EXPECT_EQ(pts[1].size(), 1u);
  EXPECT_EQ(pts[2].size(), 60u);
  EXPECT_EQ(count_of(svg, "<circle"), 6u);  // markers for the short series only
  EXPECT_EQ(count_of(svg, "class=\"ref\""), 1u);
  EXPECT_NE(svg.find("stroke-dasharray=\"6,4\""), std::string::npos);
  for (const char* name : {">run 1<", ">run 2<", ">run 3<", ">1/E (E = 8)<", ">Validation loss<", ">step<", ">loss<"})
    EXPECT_NE(svg.find(name), std::string::npos) << name;
  // Screen coordinates: x grows with the step, y falls as the value grows, all inside the image.
  const std::regex size("width=\"(\\d+)\" height=\"(\\d+)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, size));
  const double W = std::stod(m[1]), H = std::stod(m[2]);
  for (const auto& s : pts)
    for (size_t i = 0; i < s.size(); ++i) {
      EXPECT_TRUE(s[i].first >= 0 && s[i].first <= W && s[i].second >= 0 && s[i].second <= H);
      if (i > 0) EXPECT_GT(s[i].first, s[i - 1].first);
    }
  EXPECT_LT(pts[0][0].second, pts[0][4].second);  // 3.0 is drawn above 2.05
  // run 2 (2.4 at step 40) sits between run 1's 2.5 (step 10) and 2.2 (step 20) in height
  // and at run 1's last x.
  EXPECT_DOUBLE_EQ(pts[1][0].first, pts[0][4].first);
  EXPECT_GT(pts[1][0].second, pts[0][1].second);
  EXPECT_LT(pts[1][0].second, pts[0][2].second);
}

TEST(SvgPlot, ManySeriesAreDashedAfterThePalette) {
  LineChart c{.title = "t", .x_label = "x", .y_label = "y"};
  for (int i = 0; i < 12; ++i) c.series.push_back({"s" + std::to_string(i), {0, 1}, {0.0 + i, 1.0 + i}});
  const std::string svg = render_svg(c);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(series_points(svg).size(), 12u);
  EXPECT_EQ(count_of(svg, "stroke-dasharray=\"7,3\""), 4u);  // series 10 and 11: line + legend entry
}

TEST(SvgPlot, EscapesEveryText) {
  LineChart c{.title = "loss < 2 & \"rising\"", .x_label = "x's", .y_label = "<y>"};
  c.series = {{"kind=a<b>&c", {1, 2}, {1, 2}}};
  c.ref_lines = {{1.5, "ref & <co>"}};
  const std::string svg = render_svg(c);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_NE(svg.find("loss &lt; 2 &amp; &quot;rising&quot;"), std::string::npos);
  EXPECT_NE(svg.find("x&apos;s"), std::string::npos);
  EXPECT_NE(svg.find("&lt;y&gt;"), std::string::npos);
  EXPECT_NE(svg.find("data-name=\"kind=a&lt;b&gt;&amp;c\""), std::string::npos);
  EXPECT_NE(svg.find("ref &amp; &lt;co&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
  EXPECT_EQ(xml_escape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&apos;");
}

TEST(SvgPlot, SkipsNonFinitePointsAndDrawsEmptyCharts) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  LineChart c{.title = "t", .x_label = "x", .y_label = "y"};
  c.series = {{"a", {1, 2, 3, 4}, {1.0, nan, std::numeric_limits<double>::infinity(), 2.0}}, {"empty", {}, {}}};
  std::string svg = render_svg(c);
  EXPECT_EQ(xml_problem(svg), "");
  auto pts = series_points(svg);
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(pts[0].size(), 2u);
  EXPECT_EQ(pts[1].size(), 0u);

  LineChart none{.title = "nothing", .x_label = "x", .y_label = "y"};
  svg = render_svg(none);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find(">no data<"), std::string::npos);

  LineChart flat{.title = "flat", .x_label = "x", .y_label = "y"};
  flat.series = {{"one value", {5, 5}, {0.25, 0.25}}};
  EXPECT_EQ(xml_problem(render_svg(flat)), "");

  LineChart bad{.title = "bad", .x_label = "x", .y_label = "y"};
  bad.series = {{"mismatched", {1, 2}, {1}}};
  EXPECT_THROW(render_svg(bad), Error);
}

TEST(SvgPlot, NiceTicksCoverTheRangeInOneTwoFiveSteps) {
  EXPECT_EQ(nice_ticks(0, 1), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1}));
  EXPECT_EQ(nice_ticks(0, 2000), (std::vector<double>{0, 500, 1000, 1500, 2000}));
  for (auto [lo, hi] : std::vector<std::pair<double, double>>{
           {0.13, 0.87}, {1.704, 4.41}, {-3, 7}, {3, 3}, {0, 0}, {1e-5, 3e-5}, {12, 1e6}}) {
    const std::vector<double> t = nice_ticks(lo, hi);
    ASSERT_GE(t.size(), 2u) << lo << " " << hi;
    EXPECT_LE(t.front(), lo);
    EXPECT_GE(t.back(), hi);
    EXPECT_LE(t.size(), 12u);
    const double step = t[1] - t[0];
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    EXPECT_TRUE(std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 || std::abs(mantissa - 5) < 1e-6 ||
                std::abs(mantissa - 10) < 1e-6)
        << step;
  }
  EXPECT_THROW(nice_ticks(2, 1), Error);
  EXPECT_THROW(nice_ticks(0, std::numeric_limits<double>::infinity()), Error);
}
