#include "moe/moe/moe_config.h"

namespace moe {

MoEConfig parse_moe_config(io::ConfigReader& r, int64_t d_model) {
  MoEConfig c;
  c.d_model = d_model;
  c.num_experts = r.require<int64_t>("num_experts");
  c.num_shared_experts = r.get<int64_t>("num_shared_experts", 0);
  io::ConfigReader rr = r.child("router");
  RouterConfig& q = c.router;
  q.kind = rr.require<std::string>("kind");
  q.top_k = rr.get<int64_t>("top_k", q.top_k);
  q.topk_norm = rr.get<std::string>("topk_norm", q.topk_norm);
  q.capacity_factor = rr.get<double>("capacity_factor", 0.0);
  q.expert_capacity = rr.get<int64_t>("expert_capacity", 0);
  q.table = rr.get<std::vector<int64_t>>("table", {});
  q.switch_loss = rr.get<double>("switch_loss", 0.0);
  q.importance_loss = rr.get<double>("importance_loss", 0.0);
  q.load_loss = rr.get<double>("load_loss", 0.0);
  q.uniform_mse_loss = rr.get<double>("uniform_mse_loss", 0.0);
  q.z_loss = rr.get<double>("z_loss", 0.0);
  q.bias_update_rate = rr.get<double>("bias_update_rate", 0.0);
  rr.finish();
  io::ConfigReader er = r.child("expert");
  ExpertConfig& e = c.expert;
  e.kind = er.get<std::string>("kind", e.kind);
  e.d_ff = er.get<int64_t>("d_ff", 0);
  e.rank = er.get<int64_t>("rank", 0);
  e.activation = er.get<std::string>("activation", e.activation);
  e.bias = er.get<bool>("bias", e.bias);
  e.dropout = er.get<double>("dropout", 0.0);
  e.hidden = er.get<std::vector<int64_t>>("hidden", {});
  e.d_out = er.get<int64_t>("d_out", 0);
  er.finish();
  e.d_model = d_model;
  return c;
}

nlohmann::json moe_config_json(const MoEConfig& c) {
  const RouterConfig& q = c.router;
  const ExpertConfig& e = c.expert;
  return {{"num_experts", c.num_experts},
          {"num_shared_experts", c.num_shared_experts},
          {"router",
           {{"kind", q.kind}, {"top_k", q.top_k}, {"topk_norm", q.topk_norm}, {"capacity_factor", q.capacity_factor},
            {"expert_capacity", q.expert_capacity}, {"table", q.table}, {"switch_loss", q.switch_loss},
            {"importance_loss", q.importance_loss}, {"load_loss", q.load_loss},
            {"uniform_mse_loss", q.uniform_mse_loss}, {"z_loss", q.z_loss}, {"bias_update_rate", q.bias_update_rate}}},
          {"expert",
           {{"kind", e.kind}, {"d_ff", e.d_ff}, {"rank", e.rank}, {"activation", e.activation}, {"bias", e.bias},
            {"dropout", e.dropout}, {"hidden", e.hidden}, {"d_out", e.d_out}}}};
}

}  // namespace moe
