// models/dnc/memory.cpp: the DNC memory functions of memory.h, composed of the
// differentiable ops (matmul, elementwise, softmax, reduce, topk, cumprod,
// scatter_add), so their gradients are the ops' own.
#include "moe/models/dnc/memory.h"

#include "moe/core/error.h"
#include "moe/ops/cumprod.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/index.h"
#include "moe/ops/matmul.h"
#include "moe/ops/reduce.h"
#include "moe/ops/softmax.h"
#include "moe/ops/topk.h"

namespace moe::models::dnc {

namespace {

constexpr double kNormEps = 1e-6;

void check_shape(const Tensor& t, const Shape& want, const char* fn, const char* what) {
  MOE_CHECK(t.defined() && t.shape() == want, "dnc::{}: {} is {}, expected {}", fn, what,
            t.defined() ? t.str() : std::string("undefined"), shape_str(want));
}

}  // namespace

MemoryState initial_memory_state(int64_t batch, int64_t slots, int64_t word_size, int64_t read_heads, DType dtype) {
  MOE_CHECK(batch > 0 && slots > 0 && word_size > 0 && read_heads > 0,
            "dnc::initial_memory_state: sizes must be positive, got batch={} slots={} word_size={} read_heads={}",
            batch, slots, word_size, read_heads);
  return {Tensor::zeros({batch, slots, word_size}, dtype), Tensor::zeros({batch, slots}, dtype),
          Tensor::zeros({batch, slots, slots}, dtype),     Tensor::zeros({batch, slots}, dtype),
          Tensor::zeros({batch, slots}, dtype),            Tensor::zeros({batch, read_heads, slots}, dtype)};
}

Tensor content_weights(const Tensor& memory, const Tensor& keys, const Tensor& strengths) {
  MOE_CHECK(memory.dim() == 3 && keys.dim() == 3, "dnc::content_weights: memory {} must be (B, N, W), keys {} (B, H, W)",
            memory.str(), keys.str());
  const int64_t B = memory.size(0), W = memory.size(2), H = keys.size(1);
  check_shape(keys, {B, H, W}, "content_weights", "keys");
  check_shape(strengths, {B, H}, "content_weights", "strengths");
  const Tensor dot = matmul(keys, memory.transpose(1, 2));                       // (B, H, N)
  const Tensor key_norm = sqrt(sum(square(keys), {-1}, true) + kNormEps);        // (B, H, 1)
  const Tensor slot_norm = sqrt(sum(square(memory), {-1}) + kNormEps).unsqueeze(1);  // (B, 1, N)
  const Tensor cosine = dot / (key_norm * slot_norm);
  return softmax(cosine * strengths.unsqueeze(-1), -1);
}

Tensor update_usage(const Tensor& usage, const Tensor& prev_write_weights, const Tensor& prev_read_weights,
                    const Tensor& free_gates) {
  MOE_CHECK(usage.dim() == 2 && prev_read_weights.dim() == 3,
            "dnc::update_usage: usage {} must be (B, N), read weights {} (B, R, N)", usage.str(),
            prev_read_weights.str());
  const int64_t B = usage.size(0), N = usage.size(1), R = prev_read_weights.size(1);
  check_shape(prev_write_weights, {B, N}, "update_usage", "write weights");
  check_shape(prev_read_weights, {B, R, N}, "update_usage", "read weights");
  check_shape(free_gates, {B, R}, "update_usage", "free gates");
  // psi = prod_i (1 - f^i w^r_i): a freed slot that was just read may be reused.
  const Tensor retention =
      cumprod(1.0 - free_gates.unsqueeze(-1) * prev_read_weights, 1).select(1, R - 1);  // (B, N)
  return (usage + prev_write_weights - usage * prev_write_weights) * retention;
}

Tensor allocation_weights(const Tensor& usage) {
  MOE_CHECK(usage.dim() == 2, "dnc::allocation_weights: usage {} must be (B, N)", usage.str());
  const int64_t N = usage.size(1);
  const TopK sorted = topk(usage, N, -1, /*largest=*/false);  // phi: ascending usage
  const Tensor sorted_allocation = (1.0 - sorted.values) * cumprod(sorted.values, -1, /*exclusive=*/true);
  // Undo the sort: slot phi_j receives sorted_allocation[j].
  return scatter_add(Tensor::zeros(usage.shape(), usage.dtype()), -1, sorted.indices, sorted_allocation);
}

Tensor write_weights(const Tensor& allocation, const Tensor& write_content, const Tensor& allocation_gate,
                     const Tensor& write_gate) {
  MOE_CHECK(allocation.dim() == 2, "dnc::write_weights: allocation {} must be (B, N)", allocation.str());
  const int64_t B = allocation.size(0);
  check_shape(write_content, allocation.shape(), "write_weights", "write content weights");
  check_shape(allocation_gate, {B, 1}, "write_weights", "allocation gate");
  check_shape(write_gate, {B, 1}, "write_weights", "write gate");
  return write_gate * (allocation_gate * allocation + (1.0 - allocation_gate) * write_content);
}

Tensor write_memory(const Tensor& memory, const Tensor& write_weights, const Tensor& erase,
                    const Tensor& write_vector) {
  MOE_CHECK(memory.dim() == 3, "dnc::write_memory: memory {} must be (B, N, W)", memory.str());
  const int64_t B = memory.size(0), N = memory.size(1), W = memory.size(2);
  check_shape(write_weights, {B, N}, "write_memory", "write weights");
  check_shape(erase, {B, W}, "write_memory", "erase vector");
  check_shape(write_vector, {B, W}, "write_memory", "write vector");
  const Tensor w = write_weights.unsqueeze(-1);  // (B, N, 1)
  return memory * (1.0 - w * erase.unsqueeze(1)) + w * write_vector.unsqueeze(1);
}

LinkUpdate update_link(const Tensor& link, const Tensor& precedence, const Tensor& write_weights) {
  MOE_CHECK(write_weights.dim() == 2, "dnc::update_link: write weights {} must be (B, N)", write_weights.str());
  const int64_t B = write_weights.size(0), N = write_weights.size(1);
  check_shape(link, {B, N, N}, "update_link", "link matrix");
  check_shape(precedence, {B, N}, "update_link", "precedence");
  const Tensor w_i = write_weights.unsqueeze(2), w_j = write_weights.unsqueeze(1);  // (B, N, 1), (B, 1, N)
  std::vector<double> off_diagonal(static_cast<size_t>(N * N), 1.0);
  for (int64_t i = 0; i < N; ++i) off_diagonal[static_cast<size_t>(i * N + i)] = 0.0;
  const Tensor no_self_links = Tensor::from_vector(off_diagonal, {N, N}).to(link.dtype());
  const Tensor new_link = ((1.0 - w_i - w_j) * link + w_i * precedence.unsqueeze(1)) * no_self_links;
  const Tensor new_precedence = (1.0 - sum(write_weights, {-1}, true)) * precedence + write_weights;
  return {new_link, new_precedence};
}

DirectionalWeights directional_weights(const Tensor& link, const Tensor& prev_read_weights) {
  MOE_CHECK(link.dim() == 3 && prev_read_weights.dim() == 3,
            "dnc::directional_weights: link {} must be (B, N, N), read weights {} (B, R, N)", link.str(),
            prev_read_weights.str());
  const int64_t B = link.size(0), N = link.size(1), R = prev_read_weights.size(1);
  check_shape(link, {B, N, N}, "directional_weights", "link matrix");
  check_shape(prev_read_weights, {B, R, N}, "directional_weights", "read weights");
  // Row vectors: f^T = w^T L^T, b^T = w^T L.
  return {matmul(prev_read_weights, link.transpose(1, 2)), matmul(prev_read_weights, link)};
}

Tensor read_weights(const Tensor& backward, const Tensor& content, const Tensor& forward, const Tensor& read_modes) {
  MOE_CHECK(content.dim() == 3, "dnc::read_weights: content weights {} must be (B, R, N)", content.str());
  const int64_t B = content.size(0), R = content.size(1);
  check_shape(backward, content.shape(), "read_weights", "backward weights");
  check_shape(forward, content.shape(), "read_weights", "forward weights");
  check_shape(read_modes, {B, R, 3}, "read_weights", "read modes");
  return read_modes.slice(-1, 0, 1) * backward + read_modes.slice(-1, 1, 2) * content +
         read_modes.slice(-1, 2, 3) * forward;
}

Tensor read_memory(const Tensor& memory, const Tensor& read_weights) {
  MOE_CHECK(memory.dim() == 3 && read_weights.dim() == 3 && read_weights.size(0) == memory.size(0) &&
                read_weights.size(2) == memory.size(1),
            "dnc::read_memory: memory {} must be (B, N, W) and read weights {} (B, R, N)", memory.str(),
            read_weights.str());
  return matmul(read_weights, memory);
}

}  // namespace moe::models::dnc
