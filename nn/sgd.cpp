// sgd.cpp: the SGD update (formulas in sgd.h), written with loom's
// elementwise ops so that it runs on whatever device the parameters live on.
#include "nn/sgd.h"

#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "tensor/error.h"

namespace loom::nn {

SGD::SGD(NamedTensors params, double lr, const SGDOptions& options)
    : Optimizer(std::move(params), lr), options_(options) {
  check_hyperparameter("momentum", options.momentum, 0, INFINITY, false);
  check_hyperparameter("dampening", options.dampening, 0, 1);
  check_hyperparameter("weight_decay", options.weight_decay, 0, INFINITY, false);
  LOOM_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
             "SGD: nesterov momentum needs momentum > 0 and dampening 0, got momentum ", options.momentum,
             " and dampening ", options.dampening);
}

std::vector<Optimizer::BufferSpec> SGD::state_layout(const Tensor& param) const {
  if (options_.momentum == 0) return {};
  return {{"momentum_buffer", param.shape(), param.dtype(), param.device()}};
}

void SGD::step() {
  NoGradGuard no_grad;
  const SGDOptions& o = options_;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& [name, param] = params_[i];
    Tensor grad = param.grad();
    if (!grad.defined()) continue;
    check_same_dtype_device(param, grad, "SGD::step");
    if (o.weight_decay != 0) grad = grad + param * o.weight_decay;  // g <- g + wd p
    if (o.momentum != 0) {
      const bool first_step = state_[i].empty();
      ParamState& s = state_for_step(i);
      if (first_step) {
        s.at("momentum_buffer").copy_(grad);  // b <- g at the first step
      } else {
        Tensor& buffer = s.at("momentum_buffer");  // (param shape)
        buffer = buffer * o.momentum + grad * (1 - o.dampening);
      }
      const Tensor& buffer = s.at("momentum_buffer");
      grad = o.nesterov ? grad + buffer * o.momentum : buffer;
    }
    param.copy_(param - grad * lr());  // p <- p - lr g
  }
}

}  // namespace loom::nn
