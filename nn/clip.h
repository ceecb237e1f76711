// clip.h: gradient clipping by global norm, torch.nn.utils.clip_grad_norm_
// with norm_type 2.
//
//   total = sqrt(sum over parameters with a gradient of sum(g^2))
//   coef  = max_norm / (total + 1e-6)
//   every gradient g <- g coef, only when coef < 1
//
// The gradients are scaled in place (every handle to them sees the change);
// parameters without a gradient are skipped. The returned total is the norm
// before clipping, accumulated in double (0 when no parameter has a gradient).
//
// A non-finite total (a NaN or inf gradient) throws a loom::Error naming the
// first parameter whose gradient is not finite, and leaves every gradient
// unchanged; PyTorch's error_if_nonfinite=True. With error_if_nonfinite false
// the total is returned and the gradients are left unchanged (PyTorch would
// scale them by 0 or NaN, which helps nobody).
#pragma once
#include <vector>

#include "nn/module.h"

namespace loom::nn {

double clip_grad_norm_(const NamedTensors& params, double max_norm, bool error_if_nonfinite = true);
// The same for unnamed parameters (module.parameters()); errors give the index.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, bool error_if_nonfinite = true);

}  // namespace loom::nn
