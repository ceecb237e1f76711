// norm.cpp: differentiable batch normalisation (training and evaluation mode,
// with the in-place running-statistics update) and instance normalisation.
//
// With x (N, C, *), per channel c over its M = N * prod(*) values:
//   training:  y = (x - mean_c) invstd_c w_c + b_c,   invstd_c = 1/sqrt(var_c + eps) (batch, biased)
//   eval:      y = (x - rm_c) / sqrt(rv_c + eps) w_c + b_c (running statistics, constants)
// instance_norm normalises each (n, c) plane instead: it is batch norm over
// x viewed as (1, N C, *), followed by an optional per-channel affine.
#include <algorithm>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/ops.h"

namespace loom {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

// [1, C, 1, ..., 1] for an input of `ndim` dims: a per-channel (C) tensor
// reshaped this way broadcasts against (N, C, *).
Shape channel_broadcast_shape(int64_t C, int64_t ndim) {
  Shape s(ndim, 1);
  s[1] = C;
  return s;
}

// Every dim but the channel dim 1: the dims a per-channel gradient sums over.
std::vector<int64_t> non_channel_dims(int64_t ndim) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < ndim; ++d) dims.push_back(d);
  return dims;
}

// running = (1 - m) running + m batch, written into `running` in place.
void blend_in_place(Tensor running, const Tensor& batch, double momentum) {
  running.copy_(ops::add(ops::mul_scalar(running, 1.0 - momentum), ops::mul_scalar(batch.to(running.dtype()), momentum)));
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  LOOM_CHECK(x.defined() && x.dim() >= 2, "batch_norm: input must have shape (N, C, *), got ",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  LOOM_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: running_mean and running_var must be both given or both undefined");
  const int64_t C = x.shape()[1];
  LOOM_CHECK(C > 0, "batch_norm: input ", shape_str(x.shape()), " has no channels");
  const bool has_running = running_mean.defined();
  if (has_running) {
    check_shape(running_mean, {C}, "batch_norm", "running_mean");
    check_shape(running_var, {C}, "batch_norm", "running_var");
  }
  const Tensor w = weight.defined() ? weight.detach() : Tensor();
  const Tensor b = bias.defined() ? bias.detach() : Tensor();

  // ---- evaluation with running statistics ----
  if (!training && has_running) {
    Tensor y = ops::batch_norm_eval(x, weight, bias, running_mean, running_var, eps);
    // dx = g w / sqrt(rv + eps);  dw = sum g xhat;  db = sum g;  xhat = (x - rm) / sqrt(rv + eps)
    return record("batch_norm_eval", y, {x, weight, bias},
                  [x = x.detach(), w, b, rm = running_mean.detach(), rv = running_var.detach(), eps](const Tensor& g) {
                    const Shape bshape = channel_broadcast_shape(x.shape()[1], x.dim());
                    const std::vector<int64_t> dims = non_channel_dims(x.dim());
                    const Tensor inv_std = ops::rdiv_scalar(ops::sqrt(ops::add_scalar(rv, eps)), 1.0);  // (C)
                    const Tensor scale = w.defined() ? ops::mul(w, inv_std) : inv_std;                   // (C)
                    Tensor gx = ops::mul(g, scale.reshape(bshape));
                    Tensor gw, gb;
                    if (w.defined()) {
                      const Tensor xhat = ops::mul(ops::sub(x, rm.reshape(bshape)), inv_std.reshape(bshape));
                      gw = ops::sum(ops::mul(g, xhat), dims, false);
                    }
                    if (b.defined()) gb = ops::sum(g, dims, false);
                    return Grads{gx, gw, gb};
                  });
  }

  // ---- batch statistics (training, or eval without running statistics) ----
  BatchNormResult r = ops::batch_norm_train(x, weight, bias, eps);
  if (training && has_running) {
    // running_mean = (1 - m) running_mean + m mean
    // running_var  = (1 - m) running_var  + m var_biased M / (M - 1)   (unbiased)
    NoGradGuard no_grad;
    const double M = static_cast<double>(x.numel() / C);
    blend_in_place(running_mean, r.mean, momentum);
    blend_in_place(running_var, ops::mul_scalar(r.var, M / (M - 1.0)), momentum);
  }
  // dx = w invstd / M (M g - sum g - xhat sum(g xhat));  dw = sum g xhat;  db = sum g
  return record("batch_norm", r.output, {x, weight, bias},
                [x = x.detach(), w, mean = r.mean, invstd = r.invstd](const Tensor& g) {
                  BatchNormGrads d = ops::batch_norm_backward_train(g, x, w, mean, invstd);
                  return Grads{d.grad_input, d.grad_weight, d.grad_bias};
                });
}

Tensor instance_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  LOOM_CHECK(x.defined() && x.dim() >= 3, "instance_norm: input must have shape (N, C, *) with at least one spatial dim, got ",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t N = x.shape()[0], C = x.shape()[1];
  const int64_t spatial = x.numel() / std::max<int64_t>(1, N * C);
  LOOM_CHECK(spatial > 1, "instance_norm: expected more than 1 spatial element per (n, c) plane, got input shape ",
             shape_str(x.shape()));
  if (weight.defined()) check_shape(weight, {C}, "instance_norm", "weight");
  if (bias.defined()) check_shape(bias, {C}, "instance_norm", "bias");

  // (N, C, *) viewed as (1, N C, *): each plane becomes one batch-norm channel.
  Shape folded = x.shape();
  folded[0] = 1;
  folded[1] = N * C;
  const Tensor xf = x.detach().reshape(folded);  // (1, N C, *), a copy if x is not viewable
  BatchNormResult r = ops::batch_norm_train(xf, Tensor(), Tensor(), eps);
  Tensor y = record("instance_norm", r.output.reshape(x.shape()), {x},
                    [xf, mean = r.mean, invstd = r.invstd, shape = x.shape(), folded](const Tensor& g) {
                      const Tensor gf = g.reshape(folded);
                      return Grads{ops::batch_norm_backward_train(gf, xf, Tensor(), mean, invstd).grad_input.reshape(shape)};
                    });
  // Per-channel affine, differentiable through broadcasting: y w_c + b_c.
  const Shape bshape = channel_broadcast_shape(C, x.dim());
  if (weight.defined()) y = mul(y, weight.reshape(bshape));
  if (bias.defined()) y = add(y, bias.reshape(bshape));
  return y;
}

}  // namespace loom
