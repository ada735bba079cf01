// analysis/dnc_memory.cpp: DNC memory traces on the copy task, dumped as JSON and drawn
// as SVG or PNG panels.
#include "moe/analysis/dnc_memory.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "moe/analysis/heatmap_png.h"
#include "moe/analysis/svg_plot.h"
#include "moe/autograd/autograd.h"
#include "moe/data/copy_task.h"
#include "moe/io/atomic_file.h"
#include "moe/ops/elementwise.h"

namespace moe::analysis {

namespace {

using Matrix = std::vector<std::vector<double>>;

// Rows of a 2-D tensor.
Matrix rows_of(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  const int64_t R = t.size(0), C = t.size(1);
  Matrix m(static_cast<size_t>(R));
  for (int64_t r = 0; r < R; ++r) m[r].assign(v.begin() + r * C, v.begin() + (r + 1) * C);
  return m;
}

Matrix transpose(const Matrix& m) {
  if (m.empty()) return {};
  Matrix t(m[0].size(), std::vector<double>(m.size()));
  for (size_t i = 0; i < m.size(); ++i)
    for (size_t j = 0; j < m[i].size(); ++j) t[j][i] = m[i][j];
  return t;
}

struct Panel {
  std::string title;
  Matrix values;  // rows x columns
  bool is_signed = false;
};

// The panels in drawing order: time runs along the columns, except the final memory.
std::vector<Panel> panels_of(const DncMemoryDump& d) {
  std::vector<Panel> panels;
  panels.push_back({"input (bits + delimiter)", transpose(d.inputs)});
  panels.push_back({"target", transpose(d.targets)});
  panels.push_back({"output (sigmoid; scored after the delimiter)", transpose(d.outputs)});
  Matrix write, usage;
  std::vector<Matrix> reads;
  for (const models::dnc::DncStepTrace& s : d.steps) {
    write.push_back(s.write_weights.to_vector<double>());
    usage.push_back(s.usage.to_vector<double>());
    const Matrix r = rows_of(s.read_weights);
    reads.resize(r.size());
    for (size_t h = 0; h < r.size(); ++h) reads[h].push_back(r[h]);
  }
  panels.push_back({"write weighting (slots x time)", transpose(write)});
  for (size_t h = 0; h < reads.size(); ++h)
    panels.push_back({fmt::format("read weighting, head {} (slots x time)", h), transpose(reads[h])});
  panels.push_back({"usage (slots x time)", transpose(usage)});
  if (!d.steps.empty()) panels.push_back({"final memory (slots x word)", rows_of(d.steps.back().memory), true});
  return panels;
}

double max_abs(const Matrix& m) {
  double mx = 0;
  for (const auto& row : m)
    for (double v : row) mx = std::max(mx, std::abs(v));
  return mx;
}

// White -> blue for v in [0, 1]; red for negative v in [-1, 0).
std::string colour(double v) {
  const double a = std::clamp(std::abs(v), 0.0, 1.0);
  const int fade = static_cast<int>(std::lround(255 * (1 - a)));
  return v < 0 ? fmt::format("rgb(255,{},{})", fade, fade) : fmt::format("rgb({},{},255)", fade, fade);
}

}  // namespace

DncMemoryDump trace_dnc_copy(const models::dnc::Dnc& model, int64_t bits, int64_t length, uint64_t seed) {
  NoGradGuard no_grad;
  Rng rng(seed);
  const data::CopyBatch batch = data::make_copy_batch(bits, length, 1, rng);
  DncMemoryDump d;
  d.length = length;
  d.bits = bits;
  const Tensor logits = model.forward(batch.inputs, &d.steps);
  d.bit_error_rate = data::bit_error_rate(logits, batch);
  d.inputs = rows_of(batch.inputs.select(1, 0));
  d.targets = rows_of(batch.targets.select(1, 0));
  d.outputs = rows_of(sigmoid(logits).select(1, 0));
  return d;
}

nlohmann::json dnc_dump_json(const DncMemoryDump& d) {
  nlohmann::json steps = nlohmann::json::array();
  for (size_t t = 0; t < d.steps.size(); ++t) {
    const models::dnc::DncStepTrace& s = d.steps[t];
    steps.push_back({{"t", t},
                     {"memory", rows_of(s.memory)},
                     {"usage", s.usage.to_vector<double>()},
                     {"write_weights", s.write_weights.to_vector<double>()},
                     {"read_weights", rows_of(s.read_weights)},
                     {"allocation_gate", s.allocation_gate.item()},
                     {"write_gate", s.write_gate.item()},
                     {"free_gates", s.free_gates.to_vector<double>()},
                     {"read_modes", rows_of(s.read_modes)}});
  }
  return {{"length", d.length},   {"bits", d.bits},       {"bit_error_rate", d.bit_error_rate},
          {"inputs", d.inputs},   {"targets", d.targets}, {"outputs", d.outputs},
          {"steps", steps}};
}

std::string render_dnc_svg(const DncMemoryDump& d) {
  const std::vector<Panel> panels = panels_of(d);
  constexpr int cell = 12, label_h = 18, gap = 10, left = 10;
  int width = 0, height = 30;
  for (const Panel& p : panels) {
    width = std::max(width, left + cell * static_cast<int>(p.values.empty() ? 0 : p.values[0].size()) + 10);
    height += label_h + cell * static_cast<int>(p.values.size()) + gap;
  }
  width = std::max(width, 600);  // room for the title
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"18\" font-size=\"13\">{}</text>\n",
      width, height, left,
      xml_escape(fmt::format("DNC on a copy sequence of length {} ({} bits), bit error rate {:.3f}", d.length,
                             d.bits, d.bit_error_rate)));
  int y = 30;
  for (const Panel& p : panels) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", left, y + 13, xml_escape(p.title));
    y += label_h;
    const double scale = p.is_signed ? std::max(max_abs(p.values), 1e-12) : 1.0;
    const int rows = static_cast<int>(p.values.size());
    const int cols = rows ? static_cast<int>(p.values[0].size()) : 0;
    svg += fmt::format("<g class=\"panel\" data-name=\"{}\">\n", xml_escape(p.title));
    // Cells that would be (nearly) white are left out, which keeps the file small: the
    // panel's frame and white background show them.
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" stroke=\"#999\"/>\n", left, y,
                       cols * cell, rows * cell);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const double v = p.values[r][c] / scale;
        if (std::abs(v) < 0.01) continue;
        svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", left + c * cell,
                           y + r * cell, cell, cell, colour(v));
      }
    svg += "</g>\n";
    y += cell * static_cast<int>(p.values.size()) + gap;
  }
  return svg + "</svg>\n";
}

void write_dnc_png(const std::string& path, const DncMemoryDump& d, int64_t cell) {
  const std::vector<Panel> panels = panels_of(d);
  size_t width = 0;
  for (const Panel& p : panels) width = std::max(width, p.values.empty() ? size_t{0} : p.values[0].size());
  Matrix image;
  for (const Panel& p : panels) {
    const double scale = std::max(max_abs(p.values), 1e-12);
    for (const auto& row : p.values) {
      std::vector<double> line(width, 0.0);
      for (size_t c = 0; c < row.size(); ++c) line[c] = std::abs(row[c]) / scale;
      image.push_back(line);
    }
    image.emplace_back(width, 0.0);  // blank separator row
  }
  write_heatmap_png(path, image, cell);
}

void write_dnc_plot(const std::string& path, const DncMemoryDump& dump) {
  auto ends_with = [&](const std::string& ext) {
    return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends_with(".svg")) io::write_file_atomic(path, render_dnc_svg(dump));
  else if (ends_with(".png")) write_dnc_png(path, dump);
  else throw Error(fmt::format("dnc plot: {}: expected a .svg or .png file name", path));
}

}  // namespace moe::analysis
