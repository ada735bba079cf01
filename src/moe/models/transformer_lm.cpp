// models/transformer_lm.cpp: config parsing and the forward pass.
#include "moe/models/transformer_lm.h"

#include <algorithm>

#include "moe/autograd/autograd.h"
#include "moe/moe/moe_config.h"
#include "moe/nn/norm.h"
#include "moe/ops/dropout.h"
#include "moe/ops/elementwise.h"

namespace moe::models {

LMConfig LMConfig::parse(io::ConfigReader& r) {
  LMConfig c;
  MOE_CHECK(r.get<std::string>("kind", "transformer_lm") == "transformer_lm", "{}: this build knows only "
            "'transformer_lm' models", r.where("kind"));
  c.vocab_size = r.get<int64_t>("vocab_size", 0);
  c.context = r.require<int64_t>("context");
  c.d_model = r.require<int64_t>("d_model");
  c.heads = r.require<int64_t>("heads");
  c.layers = r.require<int64_t>("layers");
  c.physical_blocks = r.get<int64_t>("physical_blocks", 0);
  c.router_per_layer = r.get<bool>("router_per_layer", false);
  c.dropout = r.get<double>("dropout", 0.0);
  c.norm = r.get<std::string>("norm", c.norm);
  c.head_bias = r.get<bool>("head_bias", c.head_bias);
  io::ConfigReader f = r.child("ffn");
  c.ffn = f.require<std::string>("kind");
  if (c.ffn == "dense") {
    c.d_ff = f.require<int64_t>("d_ff");
    c.activation = f.get<std::string>("activation", c.activation);
  } else if (c.ffn == "moe") {
    c.moe = parse_moe_config(f, c.d_model);
  } else {
    throw Error(fmt::format("{}: expected 'moe' or 'dense', got '{}'", f.where("kind"), c.ffn));
  }
  f.finish();
  auto positive = [&](const char* key, int64_t v) { MOE_CHECK(v >= 1, "{}: must be >= 1, got {}", r.where(key), v); };
  positive("context", c.context);
  positive("d_model", c.d_model);
  positive("heads", c.heads);
  positive("layers", c.layers);
  MOE_CHECK(c.physical_blocks >= 0 && c.physical_blocks <= c.layers,
            "{}: must be in [0, layers = {}] (0: one block per layer), got {}", r.where("physical_blocks"), c.layers,
            c.physical_blocks);
  MOE_CHECK(!c.router_per_layer || c.ffn == "moe", "{}: needs an MoE feed-forward", r.where("router_per_layer"));
  MOE_CHECK(c.d_model % c.heads == 0, "{}: d_model {} is not divisible by heads {}", r.where("heads"), c.d_model,
            c.heads);
  MOE_CHECK(c.dropout >= 0 && c.dropout < 1, "{}: must be in [0, 1), got {}", r.where("dropout"), c.dropout);
  MOE_CHECK(c.norm == "layernorm" || c.norm == "rmsnorm", "{}: expected 'layernorm' or 'rmsnorm', got '{}'",
            r.where("norm"), c.norm);
  r.finish();
  return c;
}

nlohmann::json LMConfig::to_json() const {
  nlohmann::json ffn_json;
  if (ffn == "dense") {
    ffn_json = {{"kind", "dense"}, {"d_ff", d_ff}, {"activation", activation}};
  } else {
    ffn_json = moe_config_json(moe);
    ffn_json["kind"] = "moe";
  }
  return {{"kind", "transformer_lm"}, {"vocab_size", vocab_size}, {"context", context}, {"d_model", d_model},
          {"heads", heads},          {"layers", layers},         {"physical_blocks", physical_blocks},
          {"router_per_layer", router_per_layer}, {"dropout", dropout}, {"norm", norm},
          {"head_bias", head_bias},  {"ffn", ffn_json}};
}

namespace {

std::shared_ptr<nn::Module> make_norm(const LMConfig& c, DType dtype) {
  if (c.norm == "rmsnorm") return std::make_shared<nn::RMSNorm>(c.d_model, 1e-6, dtype);
  return std::make_shared<nn::LayerNorm>(c.d_model, 1e-5, true, dtype);
}

Tensor apply_norm(const nn::Module& m, const Tensor& x) {
  if (auto* ln = dynamic_cast<const nn::LayerNorm*>(&m)) return ln->forward(x);
  return dynamic_cast<const nn::RMSNorm&>(m).forward(x);
}

Tensor maybe_dropout(const Tensor& x, double p, bool training, Rng* rng, const char* where) {
  if (!training || p == 0) return x;
  MOE_CHECK(rng != nullptr, "{}: dropout in training needs a generator", where);
  return dropout(x, p, true, *rng);
}

}  // namespace

Block::Block(const LMConfig& c, Rng& rng, DType dtype) : dropout_(c.dropout) {
  ln1_ = register_module("ln1", make_norm(c, dtype));
  attn_ = register_module("attn", std::make_shared<nn::MultiHeadAttention>(c.d_model, c.heads, true, rng, true,
                                                                           c.dropout, dtype));
  ln2_ = register_module("ln2", make_norm(c, dtype));
  if (c.ffn == "moe") moe_ = register_module("moe", std::make_shared<MoELayer>(c.moe, rng, dtype));
  else mlp_ = register_module("mlp", std::make_shared<nn::MLP>(c.d_model, c.d_ff, c.d_model, c.activation, rng, true, dtype));
}

Tensor Block::forward(const Tensor& x, Rng* rng, Router* router) {
  Tensor h = add(x, attn_->forward(apply_norm(*ln1_, x), rng));  // MHA applies its own output dropout
  Tensor n = apply_norm(*ln2_, h);
  Tensor f;
  if (moe_) {
    RouteInputs in;
    in.rng = rng;
    f = moe_->forward(n, in, router);
  } else {
    f = mlp_->forward(n);
  }
  return add(h, maybe_dropout(f, dropout_, is_training(), rng, "transformer block"));
}

Tensor Block::forward_cached(const Tensor& x, nn::KVCache& cache, int64_t capacity, Router* router) {
  Tensor h = add(x, attn_->forward_cached(apply_norm(*ln1_, x), cache, capacity));
  Tensor n = apply_norm(*ln2_, h);
  return add(h, moe_ ? moe_->forward(n, RouteInputs{}, router) : mlp_->forward(n));
}

TransformerLM::TransformerLM(const LMConfig& c, Rng& rng, DType dtype) : config_(c) {
  MOE_CHECK(c.vocab_size >= 1, "transformer_lm: vocab_size must be set (>= 1), got {}", c.vocab_size);
  tok_emb_ = register_module("tok_emb", std::make_shared<nn::Embedding>(c.vocab_size, c.d_model, rng, dtype));
  pos_emb_ = register_module("pos_emb", std::make_shared<nn::Embedding>(c.context, c.d_model, rng, dtype));
  blocks_ = register_module("blocks", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < c.physical(); ++i) blocks_->push_back(std::make_shared<Block>(c, rng, dtype));
  if (c.router_per_layer && c.physical() < c.layers) {
    routers_ = register_module("routers", std::make_shared<nn::ModuleList>());
    for (int64_t i = c.physical(); i < c.layers; ++i)
      routers_->push_back(std::make_shared<Router>(c.moe.router, c.d_model, c.moe.num_experts, rng, dtype));
  }
  ln_f_ = register_module("ln_f", make_norm(c, dtype));
  head_ = register_module("head", std::make_shared<nn::Linear>(c.d_model, c.vocab_size, rng, c.head_bias, dtype));
}

Tensor TransformerLM::forward(const Tensor& ids, Rng* rng) {
  MOE_CHECK(ids.dim() == 2 && ids.dtype() == DType::i64, "transformer_lm: ids must be int64 (batch, time), got {}",
            ids.str());
  const int64_t T = ids.size(1);
  MOE_CHECK(T >= 1 && T <= config_.context, "transformer_lm: sequence length {} outside [1, context = {}]", T,
            config_.context);
  Tensor x = add(tok_emb_->forward(ids), pos_emb_->forward(Tensor::arange(T)));
  const int64_t P = config_.physical();
  aux_loss_ = Tensor();
  layer_stats_.clear();
  layer_routing_.clear();
  for (int64_t i = 0; i < config_.layers; ++i) {
    Block& block = static_cast<Block&>(*(*blocks_)[i % P]);
    Router* router = routers_ && i >= P ? static_cast<Router*>((*routers_)[i - P].get()) : nullptr;
    x = block.forward(x, rng, router);
    if (MoELayer* m = block.moe()) {  // read now: a shared block's next use overwrites them
      layer_stats_.push_back(m->stats());
      layer_routing_.push_back(m->last_routing());
      if (Tensor a = m->aux_loss(); a.defined()) aux_loss_ = aux_loss_.defined() ? add(aux_loss_, a) : a;
    }
  }
  return head_->forward(apply_norm(*ln_f_, x));
}

Tensor TransformerLM::forward_cached(const Tensor& ids, DecodeState& state) {
  MOE_CHECK(ids.dim() == 2 && ids.dtype() == DType::i64,
            "transformer_lm: forward_cached: ids must be int64 (batch, time), got {}", ids.str());
  MOE_CHECK(!is_training(), "transformer_lm: forward_cached is for inference; call eval() first");
  const int64_t Tn = ids.size(1), past = state.length;
  MOE_CHECK(Tn >= 1 && past + Tn <= config_.context,
            "transformer_lm: forward_cached: {} new positions after {} cached pass the context {}", Tn, past,
            config_.context);
  NoGradGuard no_grad;
  Tensor positions = Tensor::empty({Tn}, DType::i64);
  for (int64_t i = 0; i < Tn; ++i) positions.data<int64_t>()[i] = past + i;
  Tensor x = add(tok_emb_->forward(ids), pos_emb_->forward(positions));
  state.layers.resize(static_cast<size_t>(config_.layers));
  const int64_t P = config_.physical();
  aux_loss_ = Tensor();
  layer_stats_.clear();
  layer_routing_.clear();
  for (int64_t i = 0; i < config_.layers; ++i) {
    Block& block = static_cast<Block&>(*(*blocks_)[i % P]);
    Router* router = routers_ && i >= P ? static_cast<Router*>((*routers_)[i - P].get()) : nullptr;
    x = block.forward_cached(x, state.layers[static_cast<size_t>(i)], config_.context, router);
    if (MoELayer* m = block.moe()) {
      layer_stats_.push_back(m->stats());
      layer_routing_.push_back(m->last_routing());
    }
  }
  state.length = past + Tn;
  return head_->forward(apply_norm(*ln_f_, x));
}

std::vector<MoELayer*> TransformerLM::moe_layers() const {
  std::vector<MoELayer*> out;
  for (size_t i = 0; i < blocks_->size(); ++i)
    if (MoELayer* m = static_cast<Block&>(*(*blocks_)[i]).moe()) out.push_back(m);
  return out;
}

void TransformerLM::set_expert_choice_per_token(bool per_token) {
  for (Router* r : routers()) r->set_expert_choice_per_token(per_token);
}

std::vector<Router*> TransformerLM::routers() const {
  std::vector<Router*> out;
  for (MoELayer* m : moe_layers()) out.push_back(&m->router());
  if (routers_)
    for (size_t i = 0; i < routers_->size(); ++i) out.push_back(static_cast<Router*>((*routers_)[i].get()));
  return out;
}

int64_t TransformerLM::active_parameters_per_token() const {
  const LMConfig& c = config_;
  const int64_t P = c.physical();
  int64_t n = 2 * c.d_model;  // one row of each embedding
  n += head_->num_parameters() + ln_f_->num_parameters();
  if (routers_) n += routers_->num_parameters();
  for (int64_t b = 0; b < P; ++b) {
    Block& block = static_cast<Block&>(*(*blocks_)[b]);
    const int64_t uses = (c.layers - b + P - 1) / P;  // logical layers b, b + P, ... < layers
    int64_t total = block.num_parameters();
    if (MoELayer* m = block.moe()) {
      const int64_t E = m->config().num_experts, per_expert = m->experts().num_parameters() / E;
      const int64_t touched = std::min(E, uses * m->router().experts_per_token());
      total += touched * per_expert - m->experts().num_parameters();
    }
    n += total;
  }
  return n;
}

}  // namespace moe::models
