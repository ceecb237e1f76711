// engine.cpp: backward(): walks the tape from a tensor back to the leaves.
//
// 1. Collect every Node reachable from the root and count, for each, how many
//    consumers will send it a gradient.
// 2. Visit nodes in topological order (a node runs once all its consumers have
//    run), summing the gradients that arrive for its output, calling its backward
//    closure, and passing each result to the producer of that input, or, for a
//    leaf that requires grad, accumulating it into leaf.grad.
// 3. Unless retain_graph, release every closure: a second backward through the
//    same graph is an error that says so.
// Parameters accumulate (+=) across backward calls; call zero_grad between steps.
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

namespace {
thread_local bool g_grad_enabled = true;
}

bool is_grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }

namespace autograd {

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!needs_grad(inputs)) return output;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  node->output_shape = output.shape();
  node->output_dtype = output.dtype();
  // The recorded result is a fresh handle, so that an input passed through
  // unchanged (a view that is the identity) keeps its own history.
  Tensor result = output.alias(output.shape(), output.strides(), output.offset());
  result.impl().requires_grad = true;
  result.impl().grad_fn = std::move(node);
  return result;
}

namespace {

void accumulate(Tensor& slot, const Tensor& g) {
  if (!slot.defined())
    slot = g;
  else
    slot = ops::add(slot, g);
}

void run_backward(const Tensor& root, const Tensor& root_grad, bool retain_graph) {
  // 1. Reachable nodes and their consumer counts (iterative DFS).
  std::unordered_map<Node*, int> consumers;
  std::vector<Node*> stack{root.grad_fn().get()};
  consumers[root.grad_fn().get()] = 0;
  std::vector<Node*> order;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    LOOM_CHECK(n->backward != nullptr, "backward: the graph through '", n->name,
               "' was already freed by an earlier backward(); pass retain_graph=true to the first "
               "backward() to run it twice");
    for (const Tensor& in : n->inputs) {
      if (!in.defined() || !in.grad_fn()) continue;
      Node* p = in.grad_fn().get();
      auto [it, fresh] = consumers.try_emplace(p, 0);
      ++it->second;
      if (fresh) stack.push_back(p);
    }
  }
  // 2. Kahn's algorithm from the root.
  std::unordered_map<Node*, Tensor> grads;
  grads[root.grad_fn().get()] = root_grad;
  std::vector<Node*> ready{root.grad_fn().get()};
  std::vector<std::shared_ptr<Node>> keep_alive;  // inputs may hold the only reference to a producer
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    Tensor g = std::move(grads[n]);
    grads.erase(n);
    std::vector<Tensor> in_grads = n->backward(g);
    LOOM_CHECK(in_grads.size() == n->inputs.size(), "backward: '", n->name, "' returned ", in_grads.size(),
               " gradients for ", n->inputs.size(), " inputs");
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const Tensor& in = n->inputs[i];
      if (!in.defined() || !in.requires_grad()) continue;
      const Tensor& gi = in_grads[i];
      LOOM_CHECK(gi.defined(), "backward: '", n->name, "' gave no gradient for input ", i);
      LOOM_CHECK(gi.shape() == in.shape(), "backward: '", n->name, "' gave a gradient of shape ",
                 shape_str(gi.shape()), " for input ", i, " of shape ", shape_str(in.shape()));
      if (in.grad_fn()) {
        Node* p = in.grad_fn().get();
        keep_alive.push_back(in.grad_fn());
        accumulate(grads[p], gi);
        if (--consumers[p] == 0) ready.push_back(p);
      } else {
        // A leaf: accumulate into .grad (a fresh buffer the first time, so the
        // gradient never aliases another tensor's memory).
        Tensor leaf = in;
        Tensor current = leaf.grad();
        leaf.set_grad(current.defined() ? ops::add(current, gi) : gi.clone());
      }
    }
    if (!retain_graph) {
      n->backward = nullptr;
      n->inputs.clear();
    }
  }
}

}  // namespace
}  // namespace autograd

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  LOOM_CHECK(requires_grad(), "backward: this tensor (shape ", shape_str(shape()),
             ") does not require grad: no input of the computation has requires_grad set");
  Tensor g = gradient;
  if (!g.defined()) {
    LOOM_CHECK(numel() == 1, "backward: a gradient must be given for a non-scalar tensor of shape ",
               shape_str(shape()), " (only a single-element tensor may omit it)");
    g = Tensor::ones(shape(), dtype(), device());
  }
  check_shape(g, shape(), "backward", "gradient");
  check_same_dtype_device(g, *this, "backward");
  if (!grad_fn()) {  // backward on a leaf: its gradient is the given one
    Tensor self = *this;
    Tensor current = self.grad();
    self.set_grad(current.defined() ? ops::add(current, g) : g.clone());
    return;
  }
  NoGradGuard no_grad;  // gradient formulas are not themselves recorded
  autograd::run_backward(*this, g, retain_graph);
}

Tensor& Tensor::requires_grad_(bool value) {
  LOOM_CHECK(is_leaf(), "requires_grad_: only a leaf tensor can change requires_grad (this one is the result of '",
             grad_fn()->name, "'); use detach() first");
  LOOM_CHECK(!value || is_floating(dtype()), "requires_grad_: only float tensors can require grad, this one is ",
             dtype_name(dtype()));
  impl().requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) check_shape(g, shape(), "set_grad", "gradient");
  impl().grad = g.defined() ? g.impl_ptr() : nullptr;
}

Tensor Tensor::detach() const { return alias(shape(), strides(), offset()); }

}  // namespace loom
