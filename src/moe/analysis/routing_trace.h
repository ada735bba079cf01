// analysis/routing_trace.h: a run's routing as JSON lines, written during training or
// evaluation and replayed later (forced routing) or inspected.
// One line per token and layer:
//   {"step": 12, "layer": 3, "token": 41, "experts": [5, 2], "weights": [0.61, 0.39]}
// "token" is the row in the layer's flattened (batch * time) input; "experts" lists
// the experts that processed it (in sorted-position order) and "weights" their gates.
// Dropped assignments are not listed (the token then has fewer experts).
#pragma once
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "moe/moe/router.h"

namespace moe {

class RoutingTraceWriter {
 public:
  explicit RoutingTraceWriter(const std::string& path);
  void write(int64_t step, int64_t layer, const RouterOutput& routing);
  void flush() { out_.flush(); }

 private:
  std::string path_;
  std::ofstream out_;
};

struct TracedToken {
  std::vector<int64_t> experts;
  std::vector<double> weights;
};

class RoutingTrace {
 public:
  // Reads a whole trace; malformed lines are errors naming the file and line number.
  static RoutingTrace load(const std::string& path);
  bool has(int64_t step, int64_t layer) const { return entries_.count({step, layer}) > 0; }
  const std::vector<TracedToken>& tokens(int64_t step, int64_t layer) const;
  // The recorded choices as a forced-routing tensor (N, k) int64 for the router; every
  // token must have exactly k recorded experts (token choice without drops).
  Tensor forced_experts(int64_t step, int64_t layer, int64_t k) const;

 private:
  std::string path_;
  std::map<std::pair<int64_t, int64_t>, std::vector<TracedToken>> entries_;
};

}  // namespace moe
