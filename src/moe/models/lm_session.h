// models/lm_session.h: a trained language model loaded from a checkpoint directory
// (config.json, tokenizer.json, model.safetensors), ready for eval and generation.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "moe/data/tokenizer.h"
#include "moe/models/sampling.h"
#include "moe/models/transformer_lm.h"

namespace moe::models {

// The experts that processed one token in each MoE layer, with their gate weights.
struct TokenRouting {
  std::vector<std::vector<int64_t>> experts;  // [layer][i]
  std::vector<std::vector<double>> weights;   // [layer][i]
};

class LMSession {
 public:
  explicit LMSession(const std::string& checkpoint_dir);
  TransformerLM& model() { return *model_; }
  const data::Tokenizer& tokenizer() const { return *tokenizer_; }

  // Generates up to `max_tokens` tokens after `prompt` (with a char tokenizer, characters
  // outside its alphabet become <unk>; an empty prompt starts from a newline if known).
  // Calls on_token(text, routing) for each new token as it is produced (a bpe byte piece
  // may be part of a UTF-8 character; the pieces concatenate to the text); returns the text.
  // Decoding is key/value cached: the prompt's window (its last `context` tokens) runs
  // once, then each new token alone; when the window is full it restarts from its last
  // ceil(context / 2) tokens (the learned positions end at the context).
  std::string generate(const std::string& prompt, int64_t max_tokens, const SamplingOptions& sampling, Rng& rng,
                       const std::function<void(const std::string&, const TokenRouting&)>& on_token = {});

 private:
  std::unique_ptr<TransformerLM> model_;
  std::unique_ptr<data::Tokenizer> tokenizer_;
};

}  // namespace moe::models
