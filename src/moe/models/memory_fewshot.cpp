// models/memory_fewshot.cpp: the key-value memory (read, write) and the memory-augmented
// few-shot transformer of memory_fewshot.h.
#include "moe/models/memory_fewshot.h"

#include <cmath>

#include "moe/ops/elementwise.h"
#include "moe/ops/index.h"
#include "moe/ops/join.h"
#include "moe/ops/matmul.h"
#include "moe/ops/reduce.h"
#include "moe/ops/softmax.h"

namespace moe::models {

namespace {

void check_matrix(const Tensor& t, const char* op, const char* name) {
  MOE_CHECK(t.defined() && t.dim() == 2 && is_floating(t.dtype()), "{}: {} must be a float matrix, got {}", op, name,
            t.defined() ? t.str() : std::string("undefined"));
}

}  // namespace

Tensor memory_read_weights(const Tensor& queries, const Tensor& keys) {
  check_matrix(queries, "memory_read", "queries");
  check_matrix(keys, "memory_read", "keys");
  MOE_CHECK(queries.size(1) == keys.size(1), "memory_read: queries {} and keys {} differ in d_key", queries.str(),
            keys.str());
  const double scale = 1.0 / std::sqrt(static_cast<double>(keys.size(1)));
  return softmax(mul(matmul(queries, keys.t()), scale), -1);
}

Tensor memory_read(const Tensor& queries, const Tensor& keys, const Tensor& values) {
  check_matrix(values, "memory_read", "values");
  MOE_CHECK(values.size(0) == keys.size(0), "memory_read: keys {} and values {} differ in slots", keys.str(),
            values.str());
  return matmul(memory_read_weights(queries, keys), values);
}

Tensor memory_write_weights(const Tensor& addresses, const Tensor& write_queries) {
  check_matrix(addresses, "memory_write", "addresses");
  check_matrix(write_queries, "memory_write", "write_queries");
  MOE_CHECK(addresses.size(1) == write_queries.size(1), "memory_write: addresses {} and write_queries {} differ in d_key",
            addresses.str(), write_queries.str());
  const double scale = 1.0 / std::sqrt(static_cast<double>(addresses.size(1)));
  return softmax(mul(matmul(write_queries, addresses.t()), scale), -1);  // (n, M)
}

KeyValueMemory memory_write(const KeyValueMemory& init, const Tensor& write_weights, const Tensor& item_keys,
                            const Tensor& item_values) {
  check_matrix(init.keys, "memory_write", "init keys");
  check_matrix(init.values, "memory_write", "init values");
  check_matrix(item_keys, "memory_write", "item_keys");
  check_matrix(item_values, "memory_write", "item_values");
  const int64_t m = init.keys.size(0), n = item_keys.size(0);
  check_matrix(write_weights, "memory_write", "write_weights");
  MOE_CHECK(init.values.size(0) == m && write_weights.size(1) == m,
            "memory_write: init keys {}, init values {} and write_weights {} must have the same slots", init.keys.str(),
            init.values.str(), write_weights.str());
  MOE_CHECK(item_keys.size(1) == init.keys.size(1) && item_values.size(1) == init.values.size(1),
            "memory_write: item keys {} / values {} do not match the memory's {} / {}", item_keys.str(),
            item_values.str(), init.keys.str(), init.values.str());
  MOE_CHECK(write_weights.size(0) == n && item_values.size(0) == n,
            "memory_write: write_weights {}, item_keys {} and item_values {} must have the same items",
            write_weights.str(), item_keys.str(), item_values.str());
  const Tensor wt = write_weights.t();                               // (M, n)
  const Tensor denominator = add(sum(wt, {1}, true), 1.0);          // (M, 1): 1 + u_m
  KeyValueMemory out;
  out.keys = div(add(init.keys, matmul(wt, item_keys)), denominator);
  out.values = div(add(init.values, matmul(wt, item_values)), denominator);
  return out;
}

void FewShotConfig::validate(const std::string& where) const {
  MOE_CHECK(encoder == "patch_transformer" || encoder == "mlp",
            "{}encoder must be \"patch_transformer\" or \"mlp\", got \"{}\"", where, encoder);
  if (encoder == "patch_transformer") {
    MOE_CHECK(image_size >= 2 && patch >= 1 && image_size % patch == 0,
              "{}patch ({}) must divide image_size ({})", where, patch, image_size);
    MOE_CHECK(heads >= 1 && d_model % heads == 0, "{}d_model ({}) must be a multiple of heads ({})",
              where, d_model, heads);
    MOE_CHECK(layers >= 0, "{}layers must be >= 0, got {}", where, layers);
  } else {
    MOE_CHECK(input_dim >= 1, "{}input_dim must be >= 1 for the mlp encoder, got {}", where, input_dim);
  }
  MOE_CHECK(d_model >= 1 && ff_hidden >= 1 && key_dim >= 1 && value_dim >= 1,
            "{}d_model, ff_hidden, key_dim and value_dim must be >= 1", where);
  MOE_CHECK(slots >= 0, "{}slots must be >= 0 (0 = one slot per support item), got {}", where, slots);
  MOE_CHECK(max_ways >= 2, "{}max_ways must be >= 2, got {}", where, max_ways);
}

FewShotConfig FewShotConfig::from_config(io::ConfigReader r) {
  FewShotConfig c;
  c.encoder = r.get<std::string>("encoder", c.encoder);
  c.image_size = r.get<int64_t>("image_size", c.image_size);
  c.patch = r.get<int64_t>("patch", c.patch);
  c.d_model = r.get<int64_t>("d_model", c.d_model);
  c.heads = r.get<int64_t>("heads", c.heads);
  c.layers = r.get<int64_t>("layers", c.layers);
  c.ff_hidden = r.get<int64_t>("ff_hidden", c.ff_hidden);
  c.input_dim = r.get<int64_t>("input_dim", c.input_dim);
  c.key_dim = r.get<int64_t>("key_dim", c.key_dim);
  c.value_dim = r.get<int64_t>("value_dim", c.value_dim);
  c.slots = r.get<int64_t>("slots", c.slots);
  c.max_ways = r.get<int64_t>("max_ways", c.max_ways);
  r.finish();
  c.validate(r.where(""));
  return c;
}

EncoderBlock::EncoderBlock(int64_t d_model, int64_t heads, int64_t ff_hidden, Rng& rng, DType dtype) {
  ln1_ = register_module("ln1", std::make_shared<nn::LayerNorm>(d_model, 1e-5, true, dtype));
  attn_ = register_module("attn", std::make_shared<nn::MultiHeadAttention>(d_model, heads, /*causal=*/false, rng,
                                                                            true, 0.0, dtype));
  ln2_ = register_module("ln2", std::make_shared<nn::LayerNorm>(d_model, 1e-5, true, dtype));
  mlp_ = register_module("mlp", std::make_shared<nn::MLP>(d_model, ff_hidden, d_model, "gelu", rng, true, dtype));
}

Tensor EncoderBlock::forward(const Tensor& x) const {
  Tensor h = add(x, attn_->forward(ln1_->forward(x)));
  return add(h, mlp_->forward(ln2_->forward(h)));
}

MemoryFewShot::MemoryFewShot(const FewShotConfig& config, Rng& rng, DType dtype) : config_(config), dtype_(dtype) {
  config_.validate("MemoryFewShot: ");
  const FewShotConfig& c = config_;
  if (c.encoder == "patch_transformer") {
    const int64_t tokens = (c.image_size / c.patch) * (c.image_size / c.patch);
    patch_embed_ = register_module("patch_embed", std::make_shared<nn::Linear>(c.patch * c.patch, c.d_model, rng, true, dtype));
    positions_ = Tensor::randn({tokens, c.d_model}, rng, 0.02, dtype);
    register_parameter("positions", positions_);
    blocks_ = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (int64_t l = 0; l < c.layers; ++l)
      blocks_->push_back(std::make_shared<EncoderBlock>(c.d_model, c.heads, c.ff_hidden, rng, dtype));
    ln_final_ = register_module("ln_final", std::make_shared<nn::LayerNorm>(c.d_model, 1e-5, true, dtype));
  } else {
    mlp_encoder_ = register_module("mlp_encoder", std::make_shared<nn::MLP>(c.input_dim, c.ff_hidden, c.d_model, "relu", rng, true, dtype));
  }
  key_ = register_module("key", std::make_shared<nn::Linear>(c.d_model, c.key_dim, rng, true, dtype));
  // Label embeddings ~ N(0, 1/d_value): unit-norm codes, so initial logits are O(scale).
  label_values_ = Tensor::randn({c.max_ways, c.value_dim}, rng, 1.0 / std::sqrt(static_cast<double>(c.value_dim)), dtype);
  register_parameter("label_values", label_values_);
  if (c.slots > 0) {
    write_key_ = register_module("write_key", std::make_shared<nn::Linear>(c.d_model, c.key_dim, rng, true, dtype));
    slot_addresses_ = Tensor::randn({c.slots, c.key_dim}, rng, 1.0, dtype);
    register_parameter("slot_addresses", slot_addresses_);
    // Label c's address starts as 2 x slot c's (c mod slots): its write score there is
    // ~2 d_key / sqrt(d_key), far above the others, so from the start a class's items
    // gather in a slot of their own (learned from there). Two pilots without this:
    // random N(0, 1) addresses sent every item to one slot; N(0, 3^2) ones made labels
    // share slots, and the classes sharing one were always confused.
    label_addresses_ = Tensor::empty({c.max_ways, c.key_dim}, dtype);
    for (int64_t w = 0; w < c.max_ways; ++w) label_addresses_.select(0, w).copy_(mul(slot_addresses_.select(0, w % c.slots), 2.0));
    register_parameter("label_addresses", label_addresses_);
    slot_keys_ = Tensor::randn({c.slots, c.key_dim}, rng, 0.1, dtype);
    register_parameter("slot_keys", slot_keys_);
    slot_values_ = Tensor::zeros({c.slots, c.value_dim}, dtype);
    register_parameter("slot_values", slot_values_);
  }
  logit_scale_ = Tensor::full({}, 5.0, dtype);
  register_parameter("logit_scale", logit_scale_);
}

Tensor MemoryFewShot::encode(const Tensor& x) const {
  const FewShotConfig& c = config_;
  MOE_CHECK(x.defined() && x.dim() == 2 && x.size(1) == c.features(),
            "MemoryFewShot: inputs must be (n, {}) features, got {}", c.features(), x.defined() ? x.str() : "undefined");
  const Tensor xin = x.dtype() == dtype_ ? x : x.to(dtype_);
  if (c.encoder == "mlp") return mlp_encoder_->forward(xin);
  const int64_t n = x.size(0), side = c.image_size / c.patch, p = c.patch;
  // (n, H*W) -> (n, side, p, side, p) -> (n, side, side, p, p) -> (n, tokens, p*p)
  Tensor patches = xin.reshape({n, side, p, side, p}).permute({0, 1, 3, 2, 4}).reshape({n, side * side, p * p});
  Tensor h = add(patch_embed_->forward(patches), positions_);
  for (size_t l = 0; l < blocks_->size(); ++l)
    h = static_cast<const EncoderBlock&>(*(*blocks_)[l]).forward(h);
  return mean(ln_final_->forward(h), {1});  // mean over patches
}

FewShotOutput MemoryFewShot::forward(const Tensor& support, const Tensor& support_labels, const Tensor& query,
                                     int64_t ways) const {
  MOE_CHECK(ways >= 1 && ways <= config_.max_ways, "MemoryFewShot: {}-way episodes, but the model has max_ways = {}",
            ways, config_.max_ways);
  MOE_CHECK(support_labels.defined() && support_labels.dim() == 1 && support.defined() &&
                support_labels.size(0) == support.size(0),
            "MemoryFewShot: support_labels must be (n_support) = ({}), got {}", support.defined() ? support.size(0) : 0,
            support_labels.defined() ? support_labels.str() : "undefined");
  for (int64_t label : support_labels.to_vector<int64_t>())
    MOE_CHECK(label >= 0 && label < ways, "MemoryFewShot: support label {} is outside [0, {})", label, ways);
  const int64_t f = config_.features();
  MOE_CHECK(support.dim() == 2 && support.size(1) == f && query.defined() && query.dim() == 2 && query.size(1) == f,
            "MemoryFewShot: support and query must be (n, {}) features, got {} and {}", f, support.str(),
            query.defined() ? query.str() : "undefined");
  const int64_t n_support = support.size(0);
  // One encoder pass over support and query together.
  const Tensor h = encode(concat({support.to(dtype_), query.to(dtype_)}, 0));
  const Tensor keys = key_->forward(h);
  // Keys are centred on the support mean: a component shared by every key would add
  // q . shared * u_m / (1 + u_m) to slot m's read score, drawing every query to the most
  // written slot (we saw exactly that collapse without the centring).
  const Tensor centre = mean(keys.slice(0, 0, n_support), {0}, true);
  const Tensor support_keys = sub(keys.slice(0, 0, n_support), centre);
  const Tensor query_keys = sub(keys.slice(0, n_support, keys.size(0)), centre);
  const Tensor item_values = index_select(label_values_, 0, support_labels);
  FewShotOutput out;
  out.embeddings = h;
  KeyValueMemory memory{support_keys, item_values};  // direct write: one slot per item
  if (config_.slots > 0) {
    // The write query has its own projection: reusing the read keys tied the two roles,
    // and as training sharpened the reads (larger keys) the writes scattered by content.
    const Tensor write_content = write_key_->forward(h.slice(0, 0, n_support));
    const Tensor write_queries = add(write_content, index_select(label_addresses_, 0, support_labels));
    out.write_weights = memory_write_weights(slot_addresses_, write_queries);
    memory = memory_write({slot_keys_, slot_values_}, out.write_weights, support_keys, item_values);
  }
  out.read_weights = memory_read_weights(query_keys, memory.keys);
  const Tensor read = matmul(out.read_weights, memory.values);                      // (n_query, d_value)
  out.logits = mul(matmul(read, label_values_.slice(0, 0, ways).t()), logit_scale_);  // (n_query, N)
  return out;
}

}  // namespace moe::models
