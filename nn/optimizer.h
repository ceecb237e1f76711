// optimizer.h: the Optimizer base class. An optimizer holds named parameter
// handles (the same tensors the model holds), reads their .grad() and updates
// them in place under no-grad. Parameters whose gradient is undefined are
// skipped by step(), as in PyTorch.
//
// State for checkpoints: state() returns every per-parameter buffer under
// "<parameter name>.<buffer>" (for example "0.weight.exp_avg",
// "0.weight.exp_avg_sq", "0.weight.step", "0.weight.momentum_buffer"), and
// load_state() checks all names, shapes and dtypes before changing anything.
// The learning rate is not state: schedules set it from the step count.
//
// How the subclasses use this base: each parameter's state is a map from the
// buffer's short name ("exp_avg") to its tensor, empty until the parameter's
// first step. A subclass says which buffers a parameter's state holds once it
// exists (state_layout); state(), load_state() and their checks live here, once.
// A parameter's state is all of its layout or nothing (never stepped).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "nn/module.h"

namespace loom::nn {

class Optimizer {
 public:
  // `params`: usually model.named_parameters(); names key the saved state.
  // Throws when a name repeats, a tensor is undefined or not floating point,
  // the same tensor appears twice, or lr is negative or not finite.
  Optimizer(NamedTensors params, double lr);
  virtual ~Optimizer() = default;

  virtual void step() = 0;
  virtual std::string type_name() const = 0;  // "Adam", "AdamW", "SGD"

  // Drops the gradients of this optimizer's parameters: PyTorch's
  // zero_grad(set_to_none=True), the default from PyTorch 2.0. (PyTorch 1.13
  // fills zeros instead, and then steps a parameter that got no gradient in the
  // next backward as if its gradient were 0: Adam still moves it by its old
  // moments. Here such a parameter is skipped.)
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr);  // throws unless lr is finite and >= 0
  const NamedTensors& named_parameters() const { return params_; }

  // Per-parameter state, as described above (empty before the first step()).
  // The tensors are copies: later steps do not change what was returned.
  NamedTensors state() const;
  // Restores what state() returned. Throws loom::Error naming each missing,
  // unexpected or mismatched entry; on error nothing has changed. Values are
  // copied onto each parameter's device.
  void load_state(const std::map<std::string, Tensor>& state);

 protected:
  // One buffer of a parameter's state: short name, shape, dtype and device.
  struct BufferSpec {
    std::string name;
    Shape shape;
    DType dtype;
    Device device;
  };
  using ParamState = std::map<std::string, Tensor>;  // short name -> buffer

  // The buffers a parameter's state holds once it has any (may be empty, as
  // SGD without momentum), in the order state() lists them.
  virtual std::vector<BufferSpec> state_layout(const Tensor& param) const = 0;
  // Checks the values of a complete state about to be loaded for one parameter
  // (for example that a step counter is >= 1); throws naming `param_name`.
  virtual void check_state_values(const std::string& param_name, const ParamState& state) const {}
  // The state of parameter i for a step: created as zeros from the layout when
  // empty (the parameter's first step), else checked against the layout, so
  // that a model moved or converted after its optimizer's first step is
  // refused with a message instead of stepping with stale buffers.
  ParamState& state_for_step(size_t i);
  // Throws "<type_name()>: <what> = <value> is outside [lo, hi]" (or [lo, hi)
  // when !hi_included) and for a value that is not finite.
  void check_hyperparameter(const char* what, double value, double lo, double hi, bool hi_included = true) const;

  NamedTensors params_;
  std::vector<ParamState> state_;  // parallel to params_
  double lr_;
};

}  // namespace loom::nn
