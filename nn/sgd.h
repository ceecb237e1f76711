// sgd.h: stochastic gradient descent with momentum, dampening, Nesterov
// momentum and L2 weight decay, exactly torch.optim.SGD (PyTorch 1.13). For
// each parameter p with gradient g:
//
//   g <- g + weight_decay p
//   b <- g                                  at the parameter's first step
//   b <- momentum b + (1 - dampening) g      afterwards            (momentum != 0)
//   g <- g + momentum b   (nesterov)   or   g <- b   (otherwise)   (momentum != 0)
//   p <- p - lr g
//
// The arithmetic runs in the parameter's dtype with double coefficients.
// State per parameter (see optimizer.h), only when momentum != 0, created at
// its first step: "<name>.momentum_buffer", the parameter's shape and dtype.
// CPU parameters step with loom's elementwise ops; CUDA parameters with the
// fused ops::sgd_update (one launch for many parameters), the same arithmetic.
#pragma once
#include "nn/optimizer.h"

namespace loom::nn {

struct SGDOptions {
  double momentum = 0;      // >= 0
  double dampening = 0;     // in [0, 1]
  double weight_decay = 0;  // >= 0
  bool nesterov = false;    // needs momentum > 0 and dampening 0
};

class SGD : public Optimizer {
 public:
  // Throws naming the option when a value is outside its range.
  SGD(NamedTensors params, double lr, const SGDOptions& options = {});
  void step() override;
  std::string type_name() const override { return "SGD"; }
  const SGDOptions& options() const { return options_; }

 protected:
  std::vector<BufferSpec> state_layout(const Tensor& param) const override;

 private:
  struct FusedBatch;
  // The composite update of one CPU parameter (formulas above); state is null
  // without momentum, first_step says the parameter had no state before.
  void composite_step(Tensor& param, Tensor grad, ParamState* state, bool first_step);

  SGDOptions options_;
};

}  // namespace loom::nn
