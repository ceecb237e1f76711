// module.h: nn::Module, the base of every layer and model. A Module owns named
// parameters (trainable tensors) and buffers (state such as batch norm's
// running statistics), and named child modules. Names compose with dots the way
// PyTorch's state_dict names them: a Sequential's children are "0", "1", ...,
// so its first conv's weight is "0.weight", and a model with a child "main"
// that is a Sequential has "main.3.running_mean".
//
// Handles and identity: a Tensor is a handle to shared state, so the handle a
// layer keeps as a member (`weight`) and the one in the registry are the same
// tensor. Loading a state dict copies values into these tensors in place, and
// to(device) swaps their storage in place, so every handle sees the change.
//
// Calling a module: `m(x)` runs forward(x) and, while a summary is being
// recorded, notes the output shape; layers call their children with `child(x)`
// (operator()) so the summary sees them.
//
// Gradients: parameters accumulate gradients across backward calls until
// zero_grad() (PyTorch's rule); activations do not keep gradients.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace loom::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;  // in registration order

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;  // modules live behind shared_ptr; handles would alias
  Module& operator=(const Module&) = delete;

  // ---- running ----
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);
  // "Conv2d", "Sequential", ... and the arguments shown after it in summaries
  // ("3, 64, kernel_size=4, stride=2, padding=1, bias=false").
  virtual std::string type_name() const = 0;
  virtual std::string extra_repr() const { return ""; }

  // ---- registration (called from a layer's constructor) ----
  // Registers `value` (which becomes requires_grad) and returns the same handle.
  // An undefined tensor registers nothing (an optional bias switched off).
  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

  // ---- introspection (recursive, depth first, registration order) ----
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, ModulePtr>> named_children() const { return children_; }
  // Every module below this one with its dotted path ("" is not included).
  std::vector<std::pair<std::string, Module*>> named_modules();
  int64_t parameter_count() const;  // elements over all parameters
  // Parameters and buffers by full name, in PyTorch's state_dict order (each
  // module's parameters, then its buffers, then its children's).
  NamedTensors state_dict() const;

  // ---- modes and housekeeping ----
  void train(bool on = true);  // this module and all children
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();                  // drops every parameter's gradient (see Optimizer::zero_grad)
  // Moves parameters and buffers in place (gradients too), so every handle,
  // a layer's member or an optimizer's, sees the moved tensor. An optimizer
  // that has stepped keeps its state where it was and refuses to step (see
  // nn/optimizer.h): create optimizers after to(), or reload their state.
  void to(Device device);
  // Converts floating parameters and buffers (and gradients) in place; int64
  // buffers such as num_batches_tracked stay as they are.
  void to(DType dtype);

  // A table of every module in call order: path, type and arguments, output
  // shape and own parameter count, from one no-grad forward of zeros of
  // `input_shape` in eval mode (the mode is restored afterwards).
  std::string summary(const Shape& input_shape);

 private:
  void add_child(const std::string& name, ModulePtr child);
  // Throws naming `op` unless `name` is valid and not yet a parameter, buffer or child.
  void check_new_name(const char* op, const std::string& name) const;
  void collect(const std::string& prefix, bool parameters, NamedTensors& out) const;
  void collect_state(const std::string& prefix, NamedTensors& out) const;

  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, ModulePtr>> children_;
  bool training_ = true;
};

// Replaces the contents of `t` (every handle to it) with those of `src`:
// storage, shape, strides, offset and dtype; t's gradient is dropped (it would
// no longer fit). The building block of to(device) and to(dtype).
void replace_tensor_data(Tensor& t, const Tensor& src);

}  // namespace loom::nn
