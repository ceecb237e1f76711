// optim_update.h: what the CPU and CUDA fused optimizer updates
// (ops::adam_update, ops::sgd_update; kernels/cpu/optim.cpp,
// kernels/cuda/optim.cu) share, written once:
//   - the argument checks (list lengths, shapes, dtypes, devices, step counts);
//   - the per-parameter coefficients, computed in double as nn::Adam does;
//   - the update of ONE element (adam_element, sgd_element), __host__
//     __device__, the exact arithmetic of the composite nn/adam.cpp and
//     nn/sgd.cpp: every double coefficient is first rounded to the parameter's
//     dtype T (as a scalar tensor of dtype T is), then each product, sum,
//     quotient and square root is one rounding in T, in the composite's order.
//     Compiled without FMA contraction (CPU: the pragma in optim.cpp; CUDA:
//     --fmad=false) the CPU and CUDA updates give the same bits as the composite.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/options.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

#if defined(__CUDACC__)
#define LOOM_OPTIM_HD __host__ __device__
#else
#define LOOM_OPTIM_HD
#endif

namespace loom::optim_update {

// ---- argument checks -------------------------------------------------------

// params: each defined, float32/float64, on a device of the kind the
// implementation runs (CUDA or CPU), all on params[0]'s device.
inline void check_params(const std::vector<Tensor>& params, const char* op, bool on_cuda) {
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    LOOM_CHECK(p.defined(), op, ": params[", i, "] is undefined");
    LOOM_CHECK(is_floating(p.dtype()), op, ": params[", i, "] must be float32 or float64, got ",
               dtype_name(p.dtype()), " (shape ", shape_str(p.shape()), ")");
    LOOM_CHECK(p.device().is_cuda() == on_cuda, op, ": params[", i, "] is on ", p.device().str(), ", expected a ",
               on_cuda ? "CUDA" : "CPU", " tensor");
    LOOM_CHECK(p.device() == params[0].device(), op, ": params[", i, "] is on ", p.device().str(),
               " but params[0] is on ", params[0].device().str(), " (one device per call)");
  }
}

// `list` (named `what`, e.g. "grads") holds one tensor per parameter, each
// defined and of its parameter's shape, dtype and device.
inline void check_like_params(const std::vector<Tensor>& params, const std::vector<Tensor>& list, const char* op,
                              const char* what) {
  LOOM_CHECK(list.size() == params.size(), op, ": ", what, " has ", list.size(), " tensors for ", params.size(),
             " params (one per parameter)");
  for (size_t i = 0; i < list.size(); ++i) {
    const Tensor& t = list[i];
    const Tensor& p = params[i];
    LOOM_CHECK(t.defined(), op, ": ", what, "[", i, "] is undefined");
    LOOM_CHECK(t.shape() == p.shape(), op, ": ", what, "[", i, "] has shape ", shape_str(t.shape()), ", params[", i,
               "] has shape ", shape_str(p.shape()));
    LOOM_CHECK(t.dtype() == p.dtype(), op, ": ", what, "[", i, "] is ", dtype_name(t.dtype()), ", params[", i,
               "] is ", dtype_name(p.dtype()));
    LOOM_CHECK(t.device() == p.device(), op, ": ", what, "[", i, "] is on ", t.device().str(), ", params[", i,
               "] is on ", p.device().str());
  }
}

inline void check_adam_args(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                            const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                            const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<int64_t>& steps,
                            const AdamUpdateOptions& opt, bool on_cuda) {
  const char* op = "adam_update";
  check_params(params, op, on_cuda);
  check_like_params(params, grads, op, "grads");
  check_like_params(params, exp_avgs, op, "exp_avgs");
  check_like_params(params, exp_avg_sqs, op, "exp_avg_sqs");
  if (opt.amsgrad)
    check_like_params(params, max_exp_avg_sqs, op, "max_exp_avg_sqs (amsgrad)");
  else
    LOOM_CHECK(max_exp_avg_sqs.empty(), op, ": max_exp_avg_sqs has ", max_exp_avg_sqs.size(),
               " tensors but amsgrad is off (pass an empty list)");
  LOOM_CHECK(steps.size() == params.size(), op, ": steps has ", steps.size(), " counts for ", params.size(),
             " params (one per parameter)");
  for (size_t i = 0; i < steps.size(); ++i)
    LOOM_CHECK(steps[i] >= 1, op, ": steps[", i, "] is ", steps[i], ", a step count including this step is >= 1");
}

inline void check_sgd_args(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                           const std::vector<Tensor>& momentum_buffers, const std::vector<uint8_t>& first_step,
                           const SgdUpdateOptions& opt, bool on_cuda) {
  const char* op = "sgd_update";
  check_params(params, op, on_cuda);
  check_like_params(params, grads, op, "grads");
  if (opt.momentum != 0) {
    check_like_params(params, momentum_buffers, op, "momentum_buffers");
    LOOM_CHECK(first_step.size() == params.size(), op, ": first_step has ", first_step.size(), " flags for ",
               params.size(), " params (one per parameter)");
  } else {
    LOOM_CHECK(momentum_buffers.empty(), op, ": momentum_buffers has ", momentum_buffers.size(),
               " tensors but momentum is 0 (pass an empty list)");
  }
}

// ---- coefficients ------------------------------------------------------------

// Parameter i's coefficients at its step count t (>= 1), in double:
//   step_size = lr / (1 - beta1^t),  bias_correction2_sqrt = sqrt(1 - beta2^t).
struct AdamStepCoefficients {
  double step_size;
  double bias_correction2_sqrt;
};
inline AdamStepCoefficients adam_step_coefficients(const AdamUpdateOptions& o, int64_t t) {
  const double bias_correction1 = 1 - std::pow(o.beta1, static_cast<double>(t));
  const double bias_correction2 = 1 - std::pow(o.beta2, static_cast<double>(t));
  return {o.lr / bias_correction1, std::sqrt(bias_correction2)};
}

// The options' scalars rounded to T once (as the composite's scalar tensors are).
template <class T>
struct AdamScalars {
  T weight_decay;        // Adam's L2 term: g <- g + wd p
  T decay_factor;        // AdamW: p <- p (1 - lr wd)
  T beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
  bool apply_weight_decay;  // weight_decay != 0
  bool decoupled;           // AdamW
  bool amsgrad;
};
template <class T>
AdamScalars<T> adam_scalars(const AdamUpdateOptions& o) {
  return {static_cast<T>(o.weight_decay), static_cast<T>(1 - o.lr * o.weight_decay), static_cast<T>(o.beta1),
          static_cast<T>(1 - o.beta1),    static_cast<T>(o.beta2),                   static_cast<T>(1 - o.beta2),
          static_cast<T>(o.eps),          o.weight_decay != 0,                       o.decoupled_weight_decay,
          o.amsgrad};
}

template <class T>
struct SgdScalars {
  T weight_decay, momentum, one_minus_dampening, lr;
  bool apply_weight_decay;  // weight_decay != 0
  bool use_momentum;        // momentum != 0
  bool nesterov;
};
template <class T>
SgdScalars<T> sgd_scalars(const SgdUpdateOptions& o) {
  return {static_cast<T>(o.weight_decay), static_cast<T>(o.momentum), static_cast<T>(1 - o.dampening),
          static_cast<T>(o.lr),           o.weight_decay != 0,         o.momentum != 0,
          o.nesterov};
}

// ---- one element -----------------------------------------------------------------

template <class T>
LOOM_OPTIM_HD inline T sqrt_of(T x) {
#if defined(__CUDA_ARCH__)
  return sqrt(x);  // IEEE round-to-nearest (nvcc's default -prec-sqrt=true)
#else
  return std::sqrt(x);
#endif
}

// One Adam / AdamW step of one element (formulas in nn/adam.h). p, m, v and
// v_max (amsgrad only; else unused) are read and written; g is the gradient.
// step_size and bias_correction2_sqrt are this parameter's, rounded to T.
template <class T>
LOOM_OPTIM_HD inline void adam_element(T& p, T g, T& m, T& v, T& v_max, const AdamScalars<T>& s, T step_size,
                                       T bias_correction2_sqrt) {
  if (s.apply_weight_decay) {
    if (s.decoupled)
      p = p * s.decay_factor;  // AdamW: p <- p (1 - lr wd)
    else
      g = g + p * s.weight_decay;  // Adam: g <- g + wd p
  }
  m = m * s.beta1 + g * s.one_minus_beta1;          // m <- beta1 m + (1 - beta1) g
  v = v * s.beta2 + g * s.one_minus_beta2 * g;      // v <- beta2 v + (1 - beta2) g^2
  T second_moment = v;
  if (s.amsgrad) {
    v_max = (v_max != v_max || v_max > v) ? v_max : v;  // max(v_max, v); a NaN propagates (torch.maximum)
    second_moment = v_max;
  }
  const T denom = sqrt_of(second_moment) / bias_correction2_sqrt + s.eps;  // sqrt(v / bc2) + eps
  p = p - m / denom * step_size;                                           // p <- p - lr / bc1 * m / denom
}

// One SGD step of one element (formulas in nn/sgd.h). b is the momentum
// buffer (unused without momentum); first_step sets it to the gradient.
template <class T>
LOOM_OPTIM_HD inline void sgd_element(T& p, T g, T& b, bool first_step, const SgdScalars<T>& s) {
  if (s.apply_weight_decay) g = g + p * s.weight_decay;  // g <- g + wd p
  if (s.use_momentum) {
    if (first_step)
      b = g;  // b <- g at the parameter's first step
    else
      b = b * s.momentum + g * s.one_minus_dampening;  // b <- momentum b + (1 - dampening) g
    g = s.nesterov ? g + b * s.momentum : b;
  }
  p = p - g * s.lr;  // p <- p - lr g
}

}  // namespace loom::optim_update
