// clip.cpp: clip_grad_norm_ (formulas in clip.h).
#include "nn/clip.h"

#include <cmath>
#include <string>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "tensor/error.h"

namespace loom::nn {

double clip_grad_norm_(const NamedTensors& params, double max_norm, bool error_if_nonfinite) {
  LOOM_CHECK(std::isfinite(max_norm) && max_norm >= 0, "clip_grad_norm_: max_norm must be finite and >= 0, got ",
             max_norm);
  NoGradGuard no_grad;
  double sum_of_squares = 0;  // over every gradient element
  for (const auto& [name, p] : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const double part = sum(g * g).item();
    LOOM_CHECK(std::isfinite(part) || !error_if_nonfinite, "clip_grad_norm_: the gradient of '", name,
               "' is not finite (sum of squares ", part, "); nothing was clipped");
    sum_of_squares += part;
  }
  const double total = std::sqrt(sum_of_squares);
  if (!std::isfinite(total)) return total;  // only reached with error_if_nonfinite false
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1) {
    for (const auto& [name, p] : params) {
      Tensor g = p.grad();
      if (g.defined()) g.copy_(g * coef);
    }
  }
  return total;
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, bool error_if_nonfinite) {
  NamedTensors named;
  named.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) named.emplace_back("parameter #" + std::to_string(i), params[i]);
  return clip_grad_norm_(named, max_norm, error_if_nonfinite);
}

}  // namespace loom::nn
