#include "moe/autograd/autograd.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "moe/ops/elementwise.h"

namespace moe {

namespace {
thread_local bool g_grad_enabled = true;
thread_local uint64_t g_next_seq = 0;

// The set of nodes seen while gathering the tape: open addressing over one array, no
// allocation per node (std::unordered_set's per-insert malloc was a visible share of
// the backward of small ops, BENCHMARKS.md).
class NodeSet {
 public:
  explicit NodeSet(size_t expected) {
    size_t cap = 64;
    while (cap < 2 * expected) cap *= 2;
    slots_.assign(cap, nullptr);
  }
  // True when n was not in the set (and is now).
  bool insert(Node* n) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    return place(n);
  }

 private:
  bool place(Node* n) {
    const size_t mask = slots_.size() - 1;
    size_t i = static_cast<size_t>((reinterpret_cast<uintptr_t>(n) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    while (slots_[i]) {
      if (slots_[i] == n) return false;
      i = (i + 1) & mask;
    }
    slots_[i] = n;
    ++size_;
    return true;
  }
  void grow() {
    std::vector<Node*> old(slots_.size() * 2, nullptr);
    old.swap(slots_);
    size_ = 0;
    for (Node* n : old)
      if (n) place(n);
  }
  std::vector<Node*> slots_;
  size_t size_ = 0;
};
}  // namespace

Node::~Node() {
  // Nodes whose last owner is being destroyed wait on a per-thread stack; the outermost
  // destructor drains it, so each release runs at depth one.
  thread_local std::vector<std::shared_ptr<Node>> pending;
  thread_local bool draining = false;
  for (Edge& e : edges)
    if (e.fn && e.fn.use_count() == 1) pending.push_back(std::move(e.fn));
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    std::shared_ptr<Node> last = std::move(pending.back());
    pending.pop_back();
    last.reset();  // may push its own inputs
  }
  draining = false;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }
uint64_t nodes_recorded() { return g_next_seq; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& out, const char* name, const std::vector<Tensor>& inputs, BackwardFn fn) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->seq = g_next_seq++;
  node->edges.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (!in.defined() || !in.requires_grad()) continue;
    Edge& e = node->edges[i];
    if (in.grad_fn()) e.fn = in.grad_fn();
    else e.leaf = in.impl_ptr();
    e.shape = in.shape();
    e.dtype = in.dtype();
  }
  node->backward = std::move(fn);
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
}

std::shared_ptr<const std::vector<int64_t>> merge_nonzero_rows(const std::shared_ptr<const std::vector<int64_t>>& a,
                                                               const std::shared_ptr<const std::vector<int64_t>>& b) {
  if (!a || !b) return nullptr;
  auto rows = std::make_shared<std::vector<int64_t>>();
  std::set_union(a->begin(), a->end(), b->begin(), b->end(), std::back_inserter(*rows));
  return rows;
}

static Tensor accumulate(const Tensor& acc, const Tensor& g) {
  // Out of place: a gradient tensor may be shared by several edges.
  if (!acc.defined()) return g;
  Tensor sum = add(acc, g);
  sum.impl()->nonzero_rows = merge_nonzero_rows(acc.impl()->nonzero_rows, g.impl()->nonzero_rows);
  return sum;
}

// A leaf's .grad may be changed in place later (clipping, zeroing), so it must own
// its memory: take the tensor when nothing else refers to it, else copy it.
static std::shared_ptr<TensorImpl> owned_grad(Tensor g) {
  if (g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1 && g.is_contiguous())
    return g.impl_ptr();
  Tensor copy = g.clone();
  copy.impl()->nonzero_rows = g.impl()->nonzero_rows;
  return copy.impl_ptr();
}

void run_backward(const Tensor& root, const Tensor& grad) {
  MOE_CHECK(root.defined() && root.requires_grad(),
            "backward: the tensor does not require grad (no parameter or input asked for it)");
  MOE_CHECK(grad.shape() == root.shape(), "backward: seed gradient {} does not match tensor {}",
            shape_str(grad.shape()), shape_str(root.shape()));
  NoGradGuard no_grad;
  if (!root.grad_fn()) {  // a leaf
    root.impl()->grad = owned_grad(accumulate(root.grad(), grad));
    return;
  }
  // Gather reachable nodes (explicit stack: deep graphs cannot overflow).
  std::vector<Node*> order;
  NodeSet seen(64);
  std::vector<Node*> stack{root.grad_fn().get()};
  seen.insert(stack.back());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    for (const Edge& e : n->edges)
      if (e.fn && seen.insert(e.fn.get())) stack.push_back(e.fn.get());
  }
  std::sort(order.begin(), order.end(), [](Node* a, Node* b) { return a->seq > b->seq; });

  root.grad_fn()->grad_accum = grad;
  for (Node* n : order) {
    if (!n->grad_accum.defined()) continue;
    Tensor g = std::move(n->grad_accum);
    n->grad_accum = Tensor();
    std::vector<Tensor> grads = n->backward(g);
    g = Tensor();  // a returned view of g (a reshape's) then owns its storage alone: no copy into .grad
    MOE_CHECK(grads.size() == n->edges.size(), "backward of '{}' returned {} gradients for {} inputs",
              n->name, grads.size(), n->edges.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      const Edge& e = n->edges[i];
      if (!e.active() || !grads[i].defined()) continue;
      MOE_CHECK(grads[i].shape() == e.shape, "backward of '{}': gradient {} for input {} of shape {}",
                n->name, shape_str(grads[i].shape()), i, shape_str(e.shape));
      if (e.fn) {
        e.fn->grad_accum = accumulate(e.fn->grad_accum, grads[i]);
      } else {
        Tensor acc = accumulate(Tensor(e.leaf->grad), grads[i]);
        grads[i] = Tensor();
        e.leaf->grad = owned_grad(std::move(acc));
      }
    }
  }
}

}  // namespace moe
