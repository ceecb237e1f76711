// norm.cpp: nn::BatchNorm2d and nn::InstanceNorm2d (see norm.h for the math).
#include "nn/norm.h"

#include <sstream>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"

namespace loom::nn {

namespace {

// running = (1 - m) running + m batch, in place.
void blend_into(Tensor& running, const Tensor& batch, double momentum) {
  running.copy_(running * (1.0 - momentum) + batch.to(running.dtype()) * momentum);
}

// "64, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true"
std::string norm_repr(int64_t features, double eps, const std::optional<double>& momentum, bool affine, bool track) {
  std::ostringstream s;
  s << features << ", eps=" << eps << ", momentum=";
  if (momentum)
    s << *momentum;
  else
    s << "none";
  s << ", affine=" << (affine ? "true" : "false") << ", track_running_stats=" << (track ? "true" : "false");
  return s.str();
}

}  // namespace

// ---- Norm2dBase ----

void Norm2dBase::register_state(const char* layer, int64_t features, bool affine, bool track_running_stats) {
  LOOM_CHECK(features > 0, layer, ": features must be positive, got ", features);
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({features}));
    bias = register_parameter("bias", Tensor::zeros({features}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", Tensor::zeros({features}));
    running_var = register_buffer("running_var", Tensor::ones({features}));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::Int64));
  }
}

void Norm2dBase::check_input(const Tensor& x, int64_t features) const {
  check_input_dims(*this, x, 4, "(N, C, H, W)");
  check_input_size(*this, x, 1, features, "channels", weight);
}

// ---- BatchNorm2d ----

BatchNorm2d::BatchNorm2d(const Options& options) : options(options) {
  register_state("BatchNorm2d", options.features, options.affine, options.track_running_stats);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  check_input(x, options.features);
  const bool update_running = is_training() && options.track_running_stats;
  double momentum = 0.0;  // used only when the running statistics are updated
  double batches = 0.0;   // num_batches_tracked after this batch
  if (is_training())
    LOOM_CHECK(x.numel() / options.features > 1, repr(*this),
               ": expected more than 1 value per channel when training, got input shape ", shape_str(x.shape()));
  if (update_running) {
    batches = num_batches_tracked.item() + 1;
    momentum = options.momentum ? *options.momentum : 1.0 / batches;
  }
  Tensor y = batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, options.eps);
  if (update_running) num_batches_tracked.fill_(batches);  // counted once the batch went through
  return y;
}

std::string BatchNorm2d::extra_repr() const {
  return norm_repr(options.features, options.eps, options.momentum, options.affine, options.track_running_stats);
}

// ---- InstanceNorm2d ----

InstanceNorm2d::InstanceNorm2d(const Options& options) : options(options) {
  register_state("InstanceNorm2d", options.features, options.affine, options.track_running_stats);
}

Tensor InstanceNorm2d::forward(const Tensor& x) {
  check_input(x, options.features);
  if (options.track_running_stats && !is_training())
    return batch_norm(x, weight, bias, running_mean, running_var, false, options.momentum, options.eps);
  // Each plane's own statistics: one element has no variance (PyTorch refuses too).
  LOOM_CHECK(x.size(2) * x.size(3) > 1, repr(*this), ": expected more than 1 spatial element per plane when ",
             "normalising with the input's statistics, got input shape ", shape_str(x.shape()));
  Tensor y = instance_norm(x, weight, bias, options.eps);
  if (options.track_running_stats) {
    NoGradGuard no_grad;
    const Tensor xd = x.detach();                     // (N, C, H, W)
    const Tensor plane_mean = mean(xd, {2, 3});       // (N, C)
    const Tensor plane_var = var(xd, {2, 3}, true);   // (N, C), unbiased
    blend_into(running_mean, mean(plane_mean, {0}), options.momentum);
    blend_into(running_var, mean(plane_var, {0}), options.momentum);
  }
  return y;
}

std::string InstanceNorm2d::extra_repr() const {
  return norm_repr(options.features, options.eps, options.momentum, options.affine, options.track_running_stats);
}

}  // namespace loom::nn
