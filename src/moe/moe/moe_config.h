// moe_config.h: MoEConfig from / to JSON. The keys are the field names of RouterConfig,
// ExpertConfig and MoEConfig; unknown keys are errors (io::ConfigReader).
//   {"num_experts": 8, "num_shared_experts": 0,
//    "router": {"kind": "noisy_topk", "top_k": 2, "topk_norm": "softmax_topk",
//               "capacity_factor": 0, "expert_capacity": 0, "table": [],
//               "switch_loss": 0, "importance_loss": 0, "load_loss": 0,
//               "uniform_mse_loss": 0, "z_loss": 0, "bias_update_rate": 0},
//    "expert": {"kind": "ffn", "d_ff": 512, "rank": 0, "activation": "relu",
//               "bias": true, "dropout": 0, "hidden": [], "d_out": 0}}
// ("hidden" and "d_out" are for expert kind "mlp"; d_out 0 = d_model)
#pragma once
#include <nlohmann/json.hpp>

#include "moe/io/config.h"
#include "moe/moe/moe_layer.h"

namespace moe {

// Reads an MoE object (the layer's d_model comes from the model, not from here).
MoEConfig parse_moe_config(io::ConfigReader& r, int64_t d_model);
nlohmann::json moe_config_json(const MoEConfig& c);

}  // namespace moe
