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
#pragma once
#include <map>
#include <string>

#include "nn/module.h"

namespace loom::nn {

class Optimizer {
 public:
  // `params`: usually model.named_parameters(); names key the saved state.
  Optimizer(NamedTensors params, double lr);
  virtual ~Optimizer() = default;

  virtual void step() = 0;
  virtual std::string type_name() const = 0;  // "Adam", "AdamW", "SGD"

  void zero_grad();  // drops the gradients of this optimizer's parameters
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  const NamedTensors& named_parameters() const { return params_; }

  // Per-parameter state, as described above (empty before the first step()).
  virtual NamedTensors state() const = 0;
  // Restores what state() returned. Throws loom::Error naming each missing,
  // unexpected or mismatched entry; on error nothing has changed.
  virtual void load_state(const std::map<std::string, Tensor>& state) = 0;

 protected:
  NamedTensors params_;
  double lr_;
};

}  // namespace loom::nn
