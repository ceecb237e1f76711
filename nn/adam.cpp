// adam.cpp: the Adam / AdamW update (formulas in adam.h). On the CPU it is
// written with loom's elementwise ops (composite_step, the reference that
// ops::adam_update is tested against); CUDA parameters are updated by the
// fused ops::adam_update, all of one device's parameters in one call.
#include "nn/adam.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "kernels/ops.h"
#include "tensor/error.h"

namespace loom::nn {

Adam::Adam(NamedTensors params, const AdamOptions& options) : Adam(std::move(params), options, false) {}

Adam::Adam(NamedTensors params, const AdamOptions& options, bool decoupled_weight_decay)
    : Optimizer(std::move(params), options.lr), options_(options), decoupled_weight_decay_(decoupled_weight_decay) {
  check_hyperparameter("beta1", options.beta1, 0, 1, false);
  check_hyperparameter("beta2", options.beta2, 0, 1, false);
  check_hyperparameter("eps", options.eps, 0, INFINITY, false);
  check_hyperparameter("weight_decay", options.weight_decay, 0, INFINITY, false);
}

std::vector<Optimizer::BufferSpec> Adam::state_layout(const Tensor& param) const {
  std::vector<BufferSpec> layout = {{"exp_avg", param.shape(), param.dtype(), param.device()},
                                    {"exp_avg_sq", param.shape(), param.dtype(), param.device()}};
  if (options_.amsgrad) layout.push_back({"max_exp_avg_sq", param.shape(), param.dtype(), param.device()});
  layout.push_back({"step", {}, DType::Int64, Device::cpu()});
  return layout;
}

void Adam::check_state_values(const std::string& param_name, const ParamState& state) const {
  const double step = state.at("step").item();
  LOOM_CHECK(step >= 1, type_name(), "::load_state: '", param_name, ".step' is ", step,
             ", a stepped parameter's count is >= 1");
}

// One device's parameters for the fused update, in parameter order.
struct Adam::FusedBatch {
  Device device;
  std::vector<Tensor> params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs;
  std::vector<int64_t> steps;
  explicit FusedBatch(Device d) : device(d) {}
};

void Adam::step() {
  NoGradGuard no_grad;
  std::vector<FusedBatch> fused;  // CUDA parameters, one batch per device
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& [name, param] = params_[i];
    const Tensor grad = param.grad();
    if (!grad.defined()) continue;
    check_same_dtype_device(param, grad, "Adam::step");
    ParamState& s = state_for_step(i);  // zeros at the first step
    const int64_t t = static_cast<int64_t>(s.at("step").item()) + 1;  // this parameter's own count
    s.at("step").fill_(static_cast<double>(t));
    if (!param.device().is_cuda()) {
      composite_step(param, grad, s, t);
      continue;
    }
    auto batch =
        std::find_if(fused.begin(), fused.end(), [&](const FusedBatch& b) { return b.device == param.device(); });
    if (batch == fused.end()) batch = fused.insert(fused.end(), FusedBatch(param.device()));
    batch->params.push_back(param);
    batch->grads.push_back(grad);
    batch->exp_avgs.push_back(s.at("exp_avg"));
    batch->exp_avg_sqs.push_back(s.at("exp_avg_sq"));
    if (options_.amsgrad) batch->max_exp_avg_sqs.push_back(s.at("max_exp_avg_sq"));
    batch->steps.push_back(t);
  }
  const AdamUpdateOptions fused_options{lr(),         options_.beta1,        options_.beta2,  options_.eps,
                                        options_.weight_decay, decoupled_weight_decay_, options_.amsgrad};
  for (const FusedBatch& b : fused)
    ops::adam_update(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, b.max_exp_avg_sqs, b.steps, fused_options);
}

void Adam::composite_step(Tensor& param, Tensor grad, ParamState& s, int64_t t) {
  const AdamOptions& o = options_;
  const double lr = this->lr();
  if (o.weight_decay != 0) {
    if (decoupled_weight_decay_)
      param.copy_(param * (1 - lr * o.weight_decay));  // AdamW: p <- p (1 - lr wd)
    else
      grad = grad + param * o.weight_decay;  // Adam: g <- g + wd p
  }
  Tensor& m = s.at("exp_avg");     // (param shape)
  Tensor& v = s.at("exp_avg_sq");  // (param shape)
  m = m * o.beta1 + grad * (1 - o.beta1);          // m <- beta1 m + (1 - beta1) g
  v = v * o.beta2 + grad * (1 - o.beta2) * grad;  // v <- beta2 v + (1 - beta2) g^2
  Tensor second_moment = v;
  if (o.amsgrad) {
    Tensor& v_max = s.at("max_exp_avg_sq");
    v_max = maximum(v_max, v);  // v_max <- max(v_max, v)
    second_moment = v_max;
  }
  const double bias_correction1 = 1 - std::pow(o.beta1, static_cast<double>(t));
  const double bias_correction2 = 1 - std::pow(o.beta2, static_cast<double>(t));
  const double step_size = lr / bias_correction1;
  const Tensor denom = sqrt(second_moment) / std::sqrt(bias_correction2) + o.eps;  // sqrt(v / bc2) + eps
  param.copy_(param - m / denom * step_size);  // p <- p - lr / bc1 * m / denom
}

}  // namespace loom::nn
