// node.h: one recorded op on the autograd tape, and `record`, the call every
// differentiable function makes after computing its forward value.
//
// A Node keeps its input tensors (the edges of the graph) and a backward
// closure: given d loss / d output it returns d loss / d input for each input
// (an undefined Tensor where an input needs no gradient). Closures capture only
// what the formula needs; an op that needs its own output captures
// output.detach(), never the output itself, so no reference cycle forms.
//
// Saved tensors share memory with the originals and loom keeps no version
// counters: writing into a tensor in place (copy_, fill_, an optimizer step)
// between the forward pass that saved it and backward() silently changes the
// gradient. Update parameters only after backward (under NoGradGuard).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace loom::autograd {

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;              // the op, for error messages ("conv2d")
  std::vector<Tensor> inputs;    // one per differentiable input, same order as backward's result
  BackwardFn backward;           // released (empty) after backward unless retain_graph
  Shape output_shape;
  DType output_dtype = DType::Float32;
};

// True when grad mode is on and some input requires grad.
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a Node to `output` when needs_grad(inputs); returns output either way.
// `backward` must return one gradient per input, each with that input's shape.
Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn backward);

}  // namespace loom::autograd
