// analysis/svg_plot.h: line charts as standalone SVG text, written by hand so reports
// need no plotting library: axes with "nice" ticks (1, 2, 5 x 10^k), axis labels, a
// title, one polyline per series with a legend entry, and optional dashed horizontal
// reference lines. Non-finite points are skipped. Every text is XML-escaped.
//
// Each series is one <polyline class="series" data-name="..." points="x,y x,y ...">
// (plus circle markers when it has at most 40 points, so a one-point series shows), which
// keeps the output easy to check in tests. Colours cycle through 10; series beyond the
// tenth are dashed.
#pragma once
#include <string>
#include <vector>

namespace moe {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // same length
};

struct PlotRefLine {
  double y = 0;
  std::string label;  // drawn at the line's right end
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  std::vector<PlotRefLine> ref_lines;  // dashed, grey
  int width = 640, height = 400;       // the plot area with its axes; the legend adds width
};

// The chart as a complete SVG document. Throws moe::Error when a series' x and y differ
// in length.
std::string render_svg(const LineChart& chart);

// Tick positions covering [lo, hi] at a step of 1, 2 or 5 x 10^k, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// Escapes & < > " ' for XML text and attribute values.
std::string xml_escape(const std::string& text);

}  // namespace moe
