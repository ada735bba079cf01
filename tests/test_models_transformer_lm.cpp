// The transformer LM: built from a JSON config; its dense form reproduces PyTorch's tiny
// LM (tests/fixtures/golden_block.json) exactly; float64 gradient checks of tiny dense
// and MoE models; config errors name the key.
#include "golden_util.h"
#include "moe/models/transformer_lm.h"

using namespace moe;
using namespace moe::test;
using moe::models::LMConfig;
using moe::models::TransformerLM;

namespace {

LMConfig parse(const std::string& text) {
  auto r = io::ConfigReader::from_string(text, "model.json");
  return LMConfig::parse(r);
}

const char* kTinyMoE = R"({"vocab_size": 7, "context": 4, "d_model": 8, "heads": 2, "layers": 2,
  "ffn": {"kind": "moe", "num_experts": 3,
          "router": {"kind": "noisy_topk", "top_k": 2, "importance_loss": 0.1},
          "expert": {"kind": "ffn", "d_ff": 6, "activation": "gelu"}}})";

}  // namespace

TEST(TransformerLM, DenseFormEqualsPyTorchTinyLM) {
  nlohmann::json fx = load_fixture("golden_block.json");
  const auto& m = fx["model"];
  LMConfig c = parse(fmt::format(R"({{"vocab_size": {}, "context": {}, "d_model": {}, "heads": {}, "layers": {},
      "head_bias": false, "ffn": {{"kind": "dense", "d_ff": {}, "activation": "gelu"}}}})",
                                 m["vocab"].get<int>(), m["context"].get<int>(), m["d_model"].get<int>(),
                                 m["heads"].get<int>(), m["layers"].get<int>(),
                                 m["d_model"].get<int>() * m["mlp_ratio"].get<int>()));
  Rng rng(0);
  TransformerLM lm(c, rng, DType::f64);
  load_fixture_params(lm, fx["params"]);
  Tensor ids = fixture_tensor(fx["inputs"], DType::i64);
  Tensor logits = lm.forward(ids);
  expect_close(logits, fixture_values(fx["logits"]), 1e-10);
  Tensor loss = cross_entropy(logits.reshape({-1, c.vocab_size}), fixture_tensor(fx["targets"], DType::i64).reshape({-1}));
  EXPECT_NEAR(loss.item(), fx["loss"].get<double>(), 1e-10);
  loss.backward();
  for (auto& [name, p] : lm.named_parameters()) {
    SCOPED_TRACE(name);
    expect_close(p.grad(), fixture_values(fx["grads"][name]), 1e-9);
  }
}

TEST(TransformerLM, ShapesNamesAndCounts) {
  LMConfig c = parse(kTinyMoE);
  Rng rng(1);
  TransformerLM lm(c, rng);
  Rng noise(2);
  Tensor logits = lm.forward(Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3}), &noise);
  EXPECT_EQ(logits.shape(), (Shape{2, 3, 7}));
  EXPECT_NO_THROW(lm.parameter("blocks.1.moe.experts.w1"));
  EXPECT_NO_THROW(lm.parameter("blocks.0.moe.router.noise.weight"));
  EXPECT_NO_THROW(lm.parameter("blocks.0.attn.qkv.weight"));
  EXPECT_EQ(lm.moe_layers().size(), 2u);
  EXPECT_TRUE(lm.aux_loss().defined());
  // Active per token: all but the unused expert of each layer, and all but one row of each embedding.
  const int64_t per_expert = 6 * 8 + 6 + 8 * 6 + 8;
  EXPECT_EQ(lm.num_parameters() - lm.active_parameters_per_token(), 2 * per_expert + (7 - 1) * 8 + (4 - 1) * 8);
  EXPECT_THROW(lm.forward(Tensor::zeros({1, 5}, DType::i64), &noise), Error);  // longer than the context
  EXPECT_THROW(lm.forward(Tensor::zeros({1, 2}), &noise), Error);              // not int64
  EXPECT_THROW(lm.forward(Tensor::from_vector<int64_t>({9}, {1, 1}), &noise), Error);  // id out of range
  EXPECT_EQ(parse(lm.config().to_json().dump()).to_json(), lm.config().to_json());     // JSON round trip
}

TEST(TransformerLM, GradcheckTinyDenseAndMoE) {
  for (std::string ffn : {"dense", "moe"}) {
    SCOPED_TRACE(ffn);
    LMConfig c = parse(ffn == "moe" ? kTinyMoE : R"({"vocab_size": 5, "context": 3, "d_model": 4, "heads": 2,
        "layers": 2, "norm": "rmsnorm", "ffn": {"kind": "dense", "d_ff": 6}})");
    Rng rng(3);
    TransformerLM lm(c, rng, DType::f64);
    lm.eval();  // no noise, no dropout: a deterministic function for finite differences
    Tensor ids = Tensor::from_vector<int64_t>({0, 3, 1, 2, 4, 1}, {2, 3});
    expect_module_gradcheck(lm, {}, [&](const std::vector<Tensor>&) { return lm.forward(ids); });
  }
}

TEST(TransformerLM, ConfigErrorsNameTheKey) {
  auto parse_error = [](const std::string& text) { return error_of([&] { parse(text); }); };
  EXPECT_NE(parse_error(R"({"context": 4, "d_model": 8, "heads": 2, "layers": 1, "n_embd": 3,
                       "ffn": {"kind": "dense", "d_ff": 4}})").find("unknown key n_embd"), std::string::npos);
  EXPECT_NE(parse_error(R"({"context": 4, "d_model": 8, "heads": 3, "layers": 1, "ffn": {"kind": "dense", "d_ff": 4}})")
                .find("model.json: heads"), std::string::npos);
  EXPECT_NE(parse_error(R"({"context": 4, "d_model": 8, "heads": 2, "layers": "1", "ffn": {"kind": "dense", "d_ff": 4}})")
                .find("model.json: layers: expected an integer"), std::string::npos);
  EXPECT_NE(parse_error(R"({"context": 4, "d_model": 8, "heads": 2, "layers": 1})").find("model.json: ffn: required"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"context": 4, "d_model": 8, "heads": 2, "layers": 1,
                       "ffn": {"kind": "moe", "num_experts": 2, "router": {"kind": "topk", "topk": 1}, "expert": {}}})")
                .find("ffn.router.topk"), std::string::npos);
}

TEST(TransformerLM, CycleSharedBlocksAreShared) {
  for (bool per_layer : {false, true}) {
    SCOPED_TRACE(per_layer ? "a router per logical layer" : "shared routers");
    LMConfig c = parse(fmt::format(R"({{"vocab_size": 6, "context": 4, "d_model": 8, "heads": 2, "layers": 5,
        "physical_blocks": 2, "router_per_layer": {},
        "ffn": {{"kind": "moe", "num_experts": 3, "router": {{"kind": "topk", "top_k": 2, "switch_loss": 0.1}},
                "expert": {{"kind": "swiglu", "d_ff": 6}}}}}})",
                                   per_layer));
    Rng rng(4);
    TransformerLM lm(c, rng, DType::f64);
    // Two physical blocks stored; logical layers 2, 3, 4 reuse them.
    EXPECT_NO_THROW(lm.parameter("blocks.1.moe.experts.w1"));
    EXPECT_THROW(lm.parameter("blocks.2.attn.qkv.weight"), Error);
    EXPECT_EQ(lm.routers().size(), per_layer ? 5u : 2u);
    if (per_layer) EXPECT_NO_THROW(lm.parameter("routers.2.gate.weight"));  // logical layer 4's router
    Tensor ids = Tensor::from_vector<int64_t>({0, 3, 1, 2, 4, 5}, {2, 3});
    Tensor logits = lm.forward(ids);
    EXPECT_EQ(lm.layer_stats().size(), 5u);  // one per logical layer
    EXPECT_EQ(lm.layer_routing().size(), 5u);
    // The aux loss sums all five logical uses.
    double want = 0;
    for (const RoutingStats& s : lm.layer_stats()) want += 0.1 * s.aux_losses.at("switch");
    EXPECT_NEAR(lm.aux_loss().item(), want, 1e-12);
    // Gradients accumulate from every logical use of the shared weights: the float64
    // gradient check of the whole model w.r.t. every stored parameter.
    expect_module_gradcheck(lm, {}, [&](const std::vector<Tensor>&) {
      Tensor out = lm.forward(ids);  // before aux_loss(), which this forward sets
      return add(out, lm.aux_loss());
    });
  }
}

TEST(TransformerLM, CycleSharingParameterCounts) {
  auto make = [](int64_t physical) {
    return parse(fmt::format(R"({{"vocab_size": 10, "context": 8, "d_model": 8, "heads": 2, "layers": 9,
        "physical_blocks": {}, "ffn": {{"kind": "moe", "num_experts": 4,
        "router": {{"kind": "topk", "top_k": 2}}, "expert": {{"kind": "swiglu", "d_ff": 16}}}}}})",
                             physical));
  };
  Rng rng(1);
  TransformerLM shared(make(3), rng), full(make(0), rng);
  const int64_t per_block = full.parameter("blocks.0.attn.qkv.weight").numel() + 0;  // sanity anchor
  EXPECT_GT(per_block, 0);
  const int64_t block_params = (full.num_parameters() - shared.num_parameters()) / 6;  // 9 vs 3 blocks stored
  EXPECT_EQ(full.num_parameters() - shared.num_parameters(), 6 * block_params);
  // Each shared block is used 3 times with top-2 of 4 experts: all 4 experts can be touched.
  const int64_t expert = 3 * 8 * 16;
  EXPECT_EQ(shared.num_parameters() - shared.active_parameters_per_token(), (10 - 1) * 8 + (8 - 1) * 8);
  EXPECT_EQ(full.num_parameters() - full.active_parameters_per_token(), (10 - 1) * 8 + (8 - 1) * 8 + 9 * 2 * expert);
  EXPECT_THROW(parse(R"({"context": 4, "d_model": 8, "heads": 2, "layers": 2, "physical_blocks": 3,
                         "ffn": {"kind": "dense", "d_ff": 4}})"), Error);
}
