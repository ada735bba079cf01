// Golden end to end: a tiny pre-norm transformer LM (token + position embeddings, one
// block of LayerNorm -> causal MultiHeadAttention -> residual, LayerNorm -> GELU MLP ->
// residual, final LayerNorm, bias-free head) built from the nn modules with PyTorch's
// weights and batch gives PyTorch's logits, loss, every parameter gradient at step 0,
// and the loss before each of 5 AdamW steps (fixture: scripts/gen_golden.py TinyLM,
// float64). float64 agrees to 1e-10 (measured: better than 1e-12), float32 to 1e-4
// (measured: better than 1e-5).
#include "golden_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// gen_golden.py's Block, with its parameter names: ln1, attn.{qkv,proj}, ln2, mlp.{fc1,fc2}.
class Block : public nn::Module {
 public:
  Block(int64_t d_model, int64_t heads, int64_t mlp_ratio, double eps, Rng& rng, DType dtype) {
    ln1_ = register_module("ln1", std::make_shared<nn::LayerNorm>(d_model, eps, true, dtype));
    attn_ = register_module("attn", std::make_shared<nn::MultiHeadAttention>(d_model, heads, true, rng, true, 0.0,
                                                                             dtype));
    ln2_ = register_module("ln2", std::make_shared<nn::LayerNorm>(d_model, eps, true, dtype));
    mlp_ = register_module("mlp", std::make_shared<nn::MLP>(d_model, mlp_ratio * d_model, d_model, "gelu", rng,
                                                            true, dtype));
  }
  // x: (B, T, C) -> (B, T, C)
  Tensor forward(const Tensor& x) const {
    Tensor h = add(x, attn_->forward(ln1_->forward(x)));
    return add(h, mlp_->forward(ln2_->forward(h)));
  }

 private:
  std::shared_ptr<nn::LayerNorm> ln1_, ln2_;
  std::shared_ptr<nn::MultiHeadAttention> attn_;
  std::shared_ptr<nn::MLP> mlp_;
};

// gen_golden.py's TinyLM: tok_emb, pos_emb, blocks.N, ln_f, head.
class TinyLM : public nn::Module {
 public:
  TinyLM(const nlohmann::json& cfg, Rng& rng, DType dtype) {
    const int64_t vocab = cfg["vocab"], d_model = cfg["d_model"], context = cfg["context"];
    const double eps = cfg["layernorm_eps"];
    tok_emb_ = register_module("tok_emb", std::make_shared<nn::Embedding>(vocab, d_model, rng, dtype));
    pos_emb_ = register_module("pos_emb", std::make_shared<nn::Embedding>(context, d_model, rng, dtype));
    blocks_ = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (int64_t i = 0; i < cfg["layers"].get<int64_t>(); ++i)
      blocks_->push_back(std::make_shared<Block>(d_model, cfg["heads"], cfg["mlp_ratio"], eps, rng, dtype));
    ln_f_ = register_module("ln_f", std::make_shared<nn::LayerNorm>(d_model, eps, true, dtype));
    head_ = register_module("head", std::make_shared<nn::Linear>(d_model, vocab, rng, false, dtype));
  }
  // ids: (B, T) int64 -> logits (B, T, vocab)
  Tensor forward(const Tensor& ids) const {
    // (B, T, C) + (T, C): positions broadcast over the batch.
    Tensor x = add(tok_emb_->forward(ids), pos_emb_->forward(Tensor::arange(ids.size(1))));
    for (size_t i = 0; i < blocks_->size(); ++i) x = static_cast<const Block&>(*(*blocks_)[i]).forward(x);
    return head_->forward(ln_f_->forward(x));
  }

 private:
  std::shared_ptr<nn::Embedding> tok_emb_, pos_emb_;
  std::shared_ptr<nn::ModuleList> blocks_;
  std::shared_ptr<nn::LayerNorm> ln_f_;
  std::shared_ptr<nn::Linear> head_;
};

Tensor lm_loss(const Tensor& logits, const Tensor& targets) {
  return cross_entropy(logits.reshape({logits.size(0) * logits.size(1), logits.size(2)}), targets.flatten());
}

void run_golden_block(DType dtype, double tol) {
  nlohmann::json fx = load_fixture("golden_block.json");
  Rng rng(0);
  TinyLM model(fx["model"], rng, dtype);
  load_fixture_params(model, fx["params"]);
  Tensor ids = fixture_tensor(fx["inputs"], DType::i64);
  Tensor targets = fixture_tensor(fx["targets"], DType::i64);

  expect_golden_training(
      model, fx, [&] { return model.forward(ids); }, [&](const Tensor& logits) { return lm_loss(logits, targets); },
      tol);
}

}  // namespace

TEST(GoldenBlock, MatchesPyTorchFloat64) { run_golden_block(DType::f64, 1e-10); }
TEST(GoldenBlock, MatchesPyTorchFloat32) { run_golden_block(DType::f32, 1e-4); }
