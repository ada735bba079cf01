// Key/value-cached decoding (TransformerLM::forward_cached, LMSession::generate): the
// cached logits equal the full forward's at every position, for a prompt then one token
// at a time and for chunks after a cached prefix, on the char LM's kind of model, a
// cycle-shared model with per-layer routers, and a dense one; generation with the cache
// gives the same text and the same reported experts as recomputing each window.
#include <algorithm>

#include "moe/data/char_tokenizer.h"
#include "moe/io/checkpoint.h"
#include "moe/models/lm_session.h"
#include "moe/train/lm_trainer.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

models::LMConfig char_lm_config() {  // the char LM seed's shape, shrunk
  models::LMConfig c;
  c.vocab_size = 12;
  c.context = 8;
  c.d_model = 16;
  c.heads = 2;
  c.layers = 2;
  c.dropout = 0.1;  // off in eval
  c.moe.d_model = 16;
  c.moe.num_experts = 4;
  c.moe.router.kind = "noisy_topk";
  c.moe.router.top_k = 2;
  c.moe.expert.kind = "ffn";
  c.moe.expert.d_model = 16;
  c.moe.expert.d_ff = 24;
  return c;
}

models::LMConfig cycle_shared_config() {  // configs/cycle_shared_code_lm.json's shape, shrunk
  models::LMConfig c = char_lm_config();
  c.layers = 5;
  c.physical_blocks = 2;
  c.router_per_layer = true;
  c.norm = "rmsnorm";
  c.dropout = 0;
  c.moe.router.kind = "topk";
  c.moe.expert.kind = "swiglu";
  return c;
}

models::LMConfig dense_config() {
  models::LMConfig c = char_lm_config();
  c.ffn = "dense";
  c.d_ff = 20;
  return c;
}

Tensor random_ids(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> ids(static_cast<size_t>(B * T));
  for (auto& id : ids) id = static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(V));
  return Tensor::from_vector(ids, {B, T});
}

// Feeds `ids` in chunks of the given sizes and checks each chunk's logits against the
// full forward's rows at the same positions.
void expect_cached_equals_full(const models::LMConfig& c, const std::vector<int64_t>& chunks) {
  Rng init(3);
  models::TransformerLM model(c, init);
  model.eval();
  const int64_t B = 2, T = c.context;
  Tensor ids = random_ids(B, T, c.vocab_size, 7);
  NoGradGuard no_grad;
  Tensor full = model.forward(ids);
  models::DecodeState state;
  int64_t pos = 0;
  for (int64_t n : chunks) {
    Tensor step = model.forward_cached(ids.slice(1, pos, pos + n).contiguous(), state);
    ASSERT_EQ(step.shape(), (Shape{B, n, c.vocab_size}));
    expect_tensors_close(step, full.slice(1, pos, pos + n).contiguous(), 2e-5);
    pos += n;
    EXPECT_EQ(state.length, pos);
  }
  EXPECT_EQ(pos, T);
}

// The experts each MoE layer of the last forward chose for its last token (as LMSession
// reports them).
std::vector<std::vector<int64_t>> last_token_experts(const models::TransformerLM& m, int64_t n) {
  std::vector<std::vector<int64_t>> out;
  for (const RouterOutput& ro : m.layer_routing()) {
    const RoutingPlan& p = ro.plan;
    std::vector<int64_t> ex;
    for (int64_t j = p.token_offsets[n - 1]; j < p.token_offsets[n]; ++j) {
      int64_t e = 0;
      while (p.expert_offsets[e + 1] <= p.token_positions[j]) ++e;
      ex.push_back(e);
    }
    out.push_back(ex);
  }
  return out;
}

}  // namespace

TEST(KVCache, CharLMPromptThenOneTokenAtATime) { expect_cached_equals_full(char_lm_config(), {3, 1, 1, 1, 1, 1}); }
TEST(KVCache, CharLMOneTokenFromTheStart) { expect_cached_equals_full(char_lm_config(), {1, 1, 1, 1, 1, 1, 1, 1}); }
TEST(KVCache, ChunksAfterACachedPrefix) { expect_cached_equals_full(char_lm_config(), {2, 3, 1, 2}); }
TEST(KVCache, CycleSharedWithPerLayerRouters) { expect_cached_equals_full(cycle_shared_config(), {4, 1, 2, 1}); }
TEST(KVCache, DenseFeedForward) { expect_cached_equals_full(dense_config(), {5, 1, 1, 1}); }

TEST(KVCache, RefusesTrainingModeAndContextOverflow) {
  Rng init(3);
  models::TransformerLM model(char_lm_config(), init);
  models::DecodeState state;
  EXPECT_THROW(model.forward_cached(random_ids(1, 2, 11, 1), state), Error);  // training mode
  model.eval();
  model.forward_cached(random_ids(1, 6, 11, 1), state);
  EXPECT_THROW(model.forward_cached(random_ids(1, 3, 11, 2), state), Error);  // 6 + 3 > context 8
  EXPECT_EQ(state.length, 6);
  EXPECT_NO_THROW(model.forward_cached(random_ids(1, 2, 11, 2), state));
  EXPECT_THROW(model.forward_cached(random_ids(1, 1, 11, 2), state), Error);  // full
  EXPECT_THROW(model.forward_cached(Tensor::zeros({1, 1}), state), Error);    // not int64
}

// LMSession::generate with the cache against recomputing each step's window with the
// full forward (the window: the last `context` tokens at first; when full, its last
// ceil(context / 2) tokens), over three contexts' worth of tokens, so the window
// restarts several times; the same sampled text and the same reported experts.
TEST(KVCache, GenerationEqualsRecomputingTheWindow) {
  for (const models::LMConfig& model_config : {char_lm_config(), cycle_shared_config()}) {
    const std::string text = "the whale swam in";  // 11 distinct characters + <unk> = 12
    data::CharTokenizer tok = data::CharTokenizer::build(text);
    ASSERT_EQ(tok.vocab_size(), 12);
    train::RunConfig run;
    run.model = model_config;
    const std::string dir = test_tmp_dir("ckpt");
    Rng init(0);  // LMSession builds the model from seed 0, then loads the parameters
    models::TransformerLM saved(run.model, init);
    for (auto& [name, p] : saved.named_parameters()) {  // away from the initial values
      NoGradGuard ng;
      Rng r(static_cast<uint64_t>(name.size()));
      p.copy_(Tensor::randn(p.shape(), r, 0.5));
    }
    io::CheckpointData d;
    d.config_json = run.to_json().dump();
    d.tokenizer_json = tok.to_json();
    io::save_checkpoint(dir, d, saved.named_parameters());

    models::LMSession session(dir);
    models::SamplingOptions opt;
    opt.temperature = 0.9;
    const int64_t N = 3 * model_config.context;
    Rng r1(11), r2(11);
    std::vector<std::vector<std::vector<int64_t>>> cached_experts;
    const std::string cached = session.generate("the wh", N, opt, r1, [&](const std::string&, const models::TokenRouting& r) {
      cached_experts.push_back(r.experts);
    });

    models::TransformerLM& model = session.model();
    NoGradGuard no_grad;
    std::vector<int64_t> ids = tok.encode("the wh");
    const int64_t T = model_config.context;
    int64_t start = std::max<int64_t>(0, static_cast<int64_t>(ids.size()) - T);
    std::string recomputed;
    for (int64_t i = 0; i < N; ++i) {
      const int64_t size = static_cast<int64_t>(ids.size());
      if (size - start > T) start = size - (T - T / 2);
      std::vector<int64_t> window(ids.begin() + start, ids.end());
      const int64_t n = static_cast<int64_t>(window.size());
      Tensor logits = model.forward(Tensor::from_vector(window, {1, n}));
      const int64_t next = models::sample_next(logits.select(1, n - 1).reshape({12}).to_vector<float>(), opt, r2);
      ids.push_back(next);
      recomputed += tok.decode({next});
      if (!model.layer_routing().empty()) EXPECT_EQ(cached_experts[static_cast<size_t>(i)], last_token_experts(model, n));
    }
    EXPECT_EQ(cached, recomputed);
    EXPECT_EQ(static_cast<int64_t>(cached_experts.size()), N);
  }
}
