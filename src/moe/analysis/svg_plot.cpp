// analysis/svg_plot.cpp: the hand-written SVG line chart.
#include "moe/analysis/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "moe/core/error.h"

namespace moe {

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  MOE_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "nice_ticks: need finite lo <= hi, got [{}, {}]", lo,
            hi);
  if (hi == lo) {  // one value: widen symmetrically so it sits inside the axis
    const double pad = lo != 0 ? std::abs(lo) * 0.1 : 1.0;
    lo -= pad, hi += pad;
  }
  const double raw = (hi - lo) / std::max(target - 1, 1);
  const double e = std::floor(std::log10(raw));
  const double norm = raw / std::pow(10.0, e);
  const double unit = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  // k * unit * 10^e, dividing by 10^-e for negative e: both powers are exact, so ticks
  // come out as the closest doubles to 0.6 etc., not 0.6000000000000001.
  auto tick = [&](double k) { return e >= 0 ? k * unit * std::pow(10.0, e) : k * unit / std::pow(10.0, -e); };
  const double step = tick(1);
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; k += 1) ticks.push_back(k == 0 ? 0.0 : tick(k));
  return ticks;
}

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr size_t kColours = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr size_t kMarkerLimit = 40;  // series with at most this many points get markers

// Series past the palette's length repeat its colours, told apart by dashes.
std::string dash_attr(size_t i) {
  return i < kColours ? "" : i < 2 * kColours ? " stroke-dasharray=\"7,3\"" : " stroke-dasharray=\"2,2\"";
}

std::string tick_label(double v) { return fmt::format("{:g}", v); }

// A rough text width for layout: SVG has no text metrics before rendering.
double text_width(const std::string& s, double font_px) { return 0.6 * font_px * static_cast<double>(s.size()); }

}  // namespace

std::string render_svg(const LineChart& c) {
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const PlotSeries& s : c.series) {
    MOE_CHECK(s.x.size() == s.y.size(), "render_svg: series '{}' has {} x values and {} y values", s.name, s.x.size(),
              s.y.size());
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  }
  const bool has_data = std::isfinite(xmin);
  if (!has_data) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  for (const PlotRefLine& r : c.ref_lines)
    if (std::isfinite(r.y)) ymin = std::min(ymin, r.y), ymax = std::max(ymax, r.y);
  const std::vector<double> xt = nice_ticks(xmin, xmax), yt = nice_ticks(ymin, ymax);
  const double ax0 = xt.front(), ax1 = xt.back(), ay0 = yt.front(), ay1 = yt.back();

  // Plot area inside the chart's width x height; the legend sits to its right.
  const double left = 72, right = c.width - 24.0, top = 44, bottom = c.height - 52.0;
  MOE_CHECK(right - left > 50 && bottom - top > 50, "render_svg: the chart ({} x {}) is too small", c.width, c.height);
  auto px = [&](double x) { return left + (x - ax0) / (ax1 - ax0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ay0) / (ay1 - ay0) * (bottom - top); };
  double legend_w = 0;
  for (const PlotSeries& s : c.series) legend_w = std::max(legend_w, 40 + text_width(s.name, 12));
  const double row = 18;
  const int W = c.width + static_cast<int>(std::ceil(legend_w));
  const int H = std::max(c.height, static_cast<int>(top + row * static_cast<double>(c.series.size()) + 20));

  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      W, H);
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += fmt::format("<text class=\"title\" x=\"{:.1f}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
                   (left + right) / 2, xml_escape(c.title));

  o += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
  for (double t : xt)
    o += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\"/>\n", px(t), top, bottom);
  for (double t : yt)
    o += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\"/>\n", left, py(t), right);
  o += "</g>\n";

  o += "<g class=\"axes\" stroke=\"black\" stroke-width=\"1\">\n";
  o += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\"/>\n", left, bottom, right);
  o += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\"/>\n", left, top, bottom);
  for (double t : xt)
    o +=
        fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\"/>\n", px(t), bottom, bottom + 5);
  for (double t : yt)
    o += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\"/>\n", left - 5, py(t), left);
  o += "</g>\n";

  o += "<g class=\"ticks\" fill=\"#333\">\n";
  for (double t : xt)
    o += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n", px(t), bottom + 19,
                     xml_escape(tick_label(t)));
  for (double t : yt)
    o += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\">{}</text>\n", left - 8, py(t) + 4,
                     xml_escape(tick_label(t)));
  o += "</g>\n";
  o += fmt::format("<text class=\"x-label\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n",
                   (left + right) / 2, bottom + 42, xml_escape(c.x_label));
  o += fmt::format(
      "<text class=\"y-label\" transform=\"translate(18,{:.2f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      (top + bottom) / 2, xml_escape(c.y_label));
  if (!has_data)
    o += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n",
                     (left + right) / 2, (top + bottom) / 2);

  for (const PlotRefLine& r : c.ref_lines) {
    if (!std::isfinite(r.y)) continue;
    o += fmt::format(
        "<line class=\"ref\" x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" stroke=\"#777\" "
        "stroke-width=\"1.2\" stroke-dasharray=\"6,4\"/>\n",
        left, py(r.y), right);
    o +=
        fmt::format("<text class=\"ref-label\" x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\" fill=\"#555\">{}</text>\n",
                    right - 2, py(r.y) - 4, xml_escape(r.label));
  }

  for (size_t i = 0; i < c.series.size(); ++i) {
    const PlotSeries& s = c.series[i];
    const char* colour = kPalette[i % kColours];
    const std::string dash = dash_attr(i);
    std::string points;
    std::string markers;
    size_t n = 0;
    for (size_t j = 0; j < s.x.size(); ++j) n += std::isfinite(s.x[j]) && std::isfinite(s.y[j]);
    for (size_t j = 0; j < s.x.size(); ++j) {
      if (!std::isfinite(s.x[j]) || !std::isfinite(s.y[j])) continue;
      points += fmt::format("{}{:.2f},{:.2f}", points.empty() ? "" : " ", px(s.x[j]), py(s.y[j]));
      if (n <= kMarkerLimit)
        markers += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"2.5\" fill=\"{}\"/>\n", px(s.x[j]), py(s.y[j]),
                               colour);
    }
    o += fmt::format(
        "<polyline class=\"series\" data-name=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{} "
        "points=\"{}\"/>\n",
        xml_escape(s.name), colour, dash, points);
    o += markers;
  }

  if (!c.series.empty()) {
    o += "<g class=\"legend\">\n";
    const double lx = c.width - 8.0;
    for (size_t i = 0; i < c.series.size(); ++i) {
      const double ly = top + row * static_cast<double>(i) + 6;
      const std::string dash = dash_attr(i);
      o += fmt::format(
          "<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"{}\" stroke-width=\"2.5\"{}/>\n", lx,
          ly, lx + 24, ly, kPalette[i % kColours], dash);
      o += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\">{}</text>\n", lx + 30, ly + 4, xml_escape(c.series[i].name));
    }
    o += "</g>\n";
  }
  o += "</svg>\n";
  return o;
}

}  // namespace moe
