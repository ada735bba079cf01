// analysis/dnc_memory.h: what a trained DNC does on one copy sequence, step by step:
// the memory matrix, usage, write and read weightings and gates (models/dnc/dnc.h
// DncStepTrace), as a JSON dump and as a plot (SVG with labelled panels, or a PNG
// heatmap of the same panels stacked).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "moe/models/dnc/dnc.h"

namespace moe::analysis {

struct DncMemoryDump {
  int64_t length = 0, bits = 0;
  std::vector<std::vector<double>> inputs;   // (T, bits + 1) of sequence 0
  std::vector<std::vector<double>> targets;  // (T, bits)
  std::vector<std::vector<double>> outputs;  // (T, bits): sigmoid of the logits
  double bit_error_rate = 0;                 // of sequence 0's output phase
  std::vector<models::dnc::DncStepTrace> steps;  // T entries
};

// Runs `model` (no gradients) on one copy sequence of `length` drawn from Rng(seed).
DncMemoryDump trace_dnc_copy(const models::dnc::Dnc& model, int64_t bits, int64_t length, uint64_t seed);

// {"length", "bits", "bit_error_rate", "inputs", "targets", "outputs",
//  "steps": [{"t", "memory" (N x W), "usage" (N), "write_weights" (N), "read_weights" (R x N),
//             "allocation_gate", "write_gate", "free_gates" (R), "read_modes" (R x 3)}]}
nlohmann::json dnc_dump_json(const DncMemoryDump& dump);

// Panels over time (columns t = 0..T-1): input, target, output, write weighting (N rows),
// each read head's weighting, usage; then the final memory (N rows x W columns, signed).
// SVG: labelled panels, weightings white -> blue, memory red (< 0) / blue (> 0); cells below
// 1% of the scale are left white (not drawn).
std::string render_dnc_svg(const DncMemoryDump& dump);
// PNG: the same panels, each scaled to its own maximum (memory as |M|), separated by a
// blank row, through write_heatmap_png.
void write_dnc_png(const std::string& path, const DncMemoryDump& dump, int64_t cell = 12);

// By extension: ".svg" or ".png"; anything else throws naming the path.
void write_dnc_plot(const std::string& path, const DncMemoryDump& dump);

}  // namespace moe::analysis
