#include "moe/analysis/routing_trace.h"

#include <nlohmann/json.hpp>

namespace moe {

RoutingTraceWriter::RoutingTraceWriter(const std::string& path) : path_(path), out_(path, std::ios::trunc) {
  MOE_CHECK(out_.good(), "routing trace: cannot open {} for writing", path);
}

void RoutingTraceWriter::write(int64_t step, int64_t layer, const RouterOutput& r) {
  const RoutingPlan& p = r.plan;
  std::vector<double> gates = r.gates.to_vector<double>();
  std::vector<int64_t> expert_of(p.num_assignments());
  for (int64_t e = 0; e < p.num_experts; ++e)
    for (int64_t i = p.expert_offsets[e]; i < p.expert_offsets[e + 1]; ++i) expert_of[i] = e;
  for (int64_t t = 0; t < p.num_tokens; ++t) {
    nlohmann::json j = {{"step", step}, {"layer", layer}, {"token", t}};
    std::vector<int64_t> ex;
    std::vector<double> w;
    for (int64_t i = p.token_offsets[t]; i < p.token_offsets[t + 1]; ++i) {
      const int64_t pos = p.token_positions[i];
      ex.push_back(expert_of[pos]);
      w.push_back(gates[pos]);
    }
    j["experts"] = ex;
    j["weights"] = w;
    out_ << j.dump() << '\n';
  }
  MOE_CHECK(out_.good(), "routing trace: write to {} failed", path_);
}

RoutingTrace RoutingTrace::load(const std::string& path) {
  std::ifstream in(path);
  MOE_CHECK(in.good(), "routing trace: cannot open {}", path);
  RoutingTrace trace;
  trace.path_ = path;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      const int64_t step = j.at("step").get<int64_t>(), layer = j.at("layer").get<int64_t>(),
                    token = j.at("token").get<int64_t>();
      auto& toks = trace.entries_[{step, layer}];
      MOE_CHECK(token == static_cast<int64_t>(toks.size()), "{}:{}: token {} out of order (expected {})", path,
                lineno, token, toks.size());
      TracedToken t{j.at("experts").get<std::vector<int64_t>>(), j.at("weights").get<std::vector<double>>()};
      MOE_CHECK(t.experts.size() == t.weights.size(), "{}:{}: {} experts but {} weights", path, lineno,
                t.experts.size(), t.weights.size());
      toks.push_back(std::move(t));
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}:{}: bad routing trace line: {}", path, lineno, e.what()));
    }
  }
  return trace;
}

const std::vector<TracedToken>& RoutingTrace::tokens(int64_t step, int64_t layer) const {
  auto it = entries_.find({step, layer});
  MOE_CHECK(it != entries_.end(), "{}: no routing recorded for step {} layer {}", path_, step, layer);
  return it->second;
}

Tensor RoutingTrace::forced_experts(int64_t step, int64_t layer, int64_t k) const {
  const auto& toks = tokens(step, layer);
  std::vector<int64_t> ex;
  for (size_t t = 0; t < toks.size(); ++t) {
    MOE_CHECK(static_cast<int64_t>(toks[t].experts.size()) == k,
              "{}: step {} layer {} token {} has {} recorded experts, replay needs {}", path_, step, layer, t,
              toks[t].experts.size(), k);
    ex.insert(ex.end(), toks[t].experts.begin(), toks[t].experts.end());
  }
  return Tensor::from_vector(ex, {static_cast<int64_t>(toks.size()), k});
}

}  // namespace moe
