// models/lm_session.cpp: loading a checkpoint for generation; key/value-cached decoding.
#include "moe/models/lm_session.h"

#include <algorithm>

#include "moe/autograd/autograd.h"
#include "moe/io/checkpoint.h"
#include "moe/train/lm_trainer.h"

namespace moe::models {

LMSession::LMSession(const std::string& dir) {
  io::CheckpointData meta = io::read_checkpoint_meta(dir);
  train::RunConfig run = train::RunConfig::parse_text(meta.config_json, dir + "/config.json");
  tokenizer_ = data::tokenizer_from_json(meta.tokenizer_json, dir + "/tokenizer.json");
  MOE_CHECK(run.model.vocab_size >= tokenizer_->vocab_size(), "{}: model vocab_size {} < tokenizer's {}", dir,
            run.model.vocab_size, tokenizer_->vocab_size());
  Rng init(0);
  model_ = std::make_unique<TransformerLM>(run.model, init);
  io::load_params(dir, model_->named_parameters());
  model_->eval();
  // Generation sees one token at a time: expert-choice layers route per token (router.h).
  model_->set_expert_choice_per_token(true);
}

std::string LMSession::generate(const std::string& prompt, int64_t max_tokens, const SamplingOptions& sampling,
                                Rng& rng, const std::function<void(const std::string&, const TokenRouting&)>& on_token) {
  MOE_CHECK(max_tokens >= 0, "generate: the number of tokens must be >= 0, got {}", max_tokens);
  NoGradGuard no_grad;
  std::vector<int64_t> ids = tokenizer_->encode(prompt);
  if (ids.empty()) {
    std::vector<int64_t> nl = tokenizer_->encode("\n");
    ids.push_back(nl.empty() || nl[0] == 0 ? 1 : nl[0]);
  }
  const int64_t T = model_->config().context, V = model_->config().vocab_size;
  // Key/value-cached decoding: the prompt's window is run once, then each new token alone.
  // The learned positions end at the context, so when the window is full it restarts
  // from its last ceil(T/2) tokens (one re-run of half a window every T/2 tokens: the
  // cost per token stays flat). Each step's logits are forward()'s over the window
  // ids[window_start, end), positions from 0 (tests/test_models_kv_cache.cpp).
  DecodeState state;
  int64_t window_start = std::max<int64_t>(0, static_cast<int64_t>(ids.size()) - T);
  std::string out;
  for (int64_t i = 0; i < max_tokens; ++i) {
    const int64_t size = static_cast<int64_t>(ids.size());
    Tensor logits;
    if (state.length > 0 && size - window_start <= T) {
      logits = model_->forward_cached(Tensor::from_vector(std::vector<int64_t>{ids.back()}, {1, 1}), state);
    } else {
      if (state.length > 0) window_start = size - (T - T / 2);
      state.clear();
      std::vector<int64_t> window(ids.begin() + window_start, ids.end());
      logits = model_->forward_cached(Tensor::from_vector(window, {1, size - window_start}), state);
    }
    const int64_t n = logits.size(1);
    std::vector<float> last = logits.select(1, n - 1).reshape({V}).to_vector<float>();
    const int64_t next = sample_next(last, sampling, rng);
    ids.push_back(next);
    std::string piece = tokenizer_->decode({next});
    out += piece;
    if (on_token) {
      TokenRouting r;
      for (const RouterOutput& ro : model_->layer_routing()) {
        const RoutingPlan& p = ro.plan;
        std::vector<double> gates = ro.gates.to_vector<double>();
        std::vector<int64_t> ex;
        std::vector<double> w;
        for (int64_t j = p.token_offsets[n - 1]; j < p.token_offsets[n]; ++j) {
          const int64_t pos = p.token_positions[j];
          int64_t e = 0;
          while (p.expert_offsets[e + 1] <= pos) ++e;
          ex.push_back(e);
          w.push_back(gates[pos]);
        }
        r.experts.push_back(ex);
        r.weights.push_back(w);
      }
      on_token(piece, r);
    }
  }
  return out;
}

}  // namespace moe::models
