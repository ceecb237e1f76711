// adam.cpp: the Adam / AdamW update (formulas in adam.h), written with
// loom's elementwise ops so that it runs on whatever device the parameters
// live on.
#include "nn/adam.h"

#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
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

void Adam::step() {
  NoGradGuard no_grad;
  const AdamOptions& o = options_;
  const double lr = this->lr();
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& [name, param] = params_[i];
    Tensor grad = param.grad();
    if (!grad.defined()) continue;
    check_same_dtype_device(param, grad, "Adam::step");
    ParamState& s = state_for_step(i);  // zeros at the first step
    const int64_t t = static_cast<int64_t>(s.at("step").item()) + 1;  // this parameter's own count
    s.at("step").fill_(static_cast<double>(t));

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
}

}  // namespace loom::nn
