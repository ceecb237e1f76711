// sgd.cpp: the SGD update (formulas in sgd.h). On the CPU it is written with
// loom's elementwise ops (composite_step, the reference that ops::sgd_update
// is tested against); CUDA parameters are updated by the fused
// ops::sgd_update, all of one device's parameters in one call.
#include "nn/sgd.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "kernels/ops.h"
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

// One device's parameters for the fused update, in parameter order.
struct SGD::FusedBatch {
  Device device;
  std::vector<Tensor> params, grads, momentum_buffers;
  std::vector<uint8_t> first_step;
  explicit FusedBatch(Device d) : device(d) {}
};

void SGD::step() {
  NoGradGuard no_grad;
  const bool use_momentum = options_.momentum != 0;
  std::vector<FusedBatch> fused;  // CUDA parameters, one batch per device
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& [name, param] = params_[i];
    const Tensor grad = param.grad();
    if (!grad.defined()) continue;
    check_same_dtype_device(param, grad, "SGD::step");
    const bool first_step = state_[i].empty();
    ParamState* s = use_momentum ? &state_for_step(i) : nullptr;  // zeros at the first step
    if (!param.device().is_cuda()) {
      composite_step(param, grad, s, first_step);
      continue;
    }
    auto batch =
        std::find_if(fused.begin(), fused.end(), [&](const FusedBatch& b) { return b.device == param.device(); });
    if (batch == fused.end()) batch = fused.insert(fused.end(), FusedBatch(param.device()));
    batch->params.push_back(param);
    batch->grads.push_back(grad);
    if (use_momentum) {
      batch->momentum_buffers.push_back(s->at("momentum_buffer"));
      batch->first_step.push_back(first_step ? 1 : 0);
    }
  }
  const SgdUpdateOptions fused_options{lr(), options_.momentum, options_.dampening, options_.weight_decay,
                                       options_.nesterov};
  for (const FusedBatch& b : fused)
    ops::sgd_update(b.params, b.grads, b.momentum_buffers, b.first_step, fused_options);
}

void SGD::composite_step(Tensor& param, Tensor grad, ParamState* s, bool first_step) {
  const SGDOptions& o = options_;
  if (o.weight_decay != 0) grad = grad + param * o.weight_decay;  // g <- g + wd p
  if (o.momentum != 0) {
    if (first_step) {
      s->at("momentum_buffer").copy_(grad);  // b <- g at the first step
    } else {
      Tensor& buffer = s->at("momentum_buffer");  // (param shape)
      buffer = buffer * o.momentum + grad * (1 - o.dampening);
    }
    const Tensor& buffer = s->at("momentum_buffer");
    grad = o.nesterov ? grad + buffer * o.momentum : buffer;
  }
  param.copy_(param - grad * lr());  // p <- p - lr g
}

}  // namespace loom::nn
