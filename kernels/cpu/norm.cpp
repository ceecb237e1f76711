// norm.cpp: batch normalisation on the CPU: the training forward (batch
// statistics), the evaluation forward (running statistics) and the training
// backward.
//
// x has shape (N, C, *); it is read as a dense (N, C, S) block with S = prod(*),
// and every channel c is normalised over its M = N * S values.
//
// Determinism: per-channel sums are accumulated in double in a fixed order.
// Each (n, c) plane of S values is summed by one thread (4 interleaved partial
// sums, combined in a fixed order), and the N plane sums of a channel are then
// added in order n = 0, 1, ..., N-1. Neither step depends on the thread count.
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "kernels/norm_layout.h"

namespace loom::cpu {

namespace {

// Work below this many elements stays on one thread.

using norm_layout::ChannelLayout;

ChannelLayout channel_layout(const Tensor& x, const char* op) {
  check_float(x, op);
  return norm_layout::channel_layout(x, op);
}

// A (C) tensor as a vector of doubles (undefined -> `fill`).
std::vector<double> channel_values(const Tensor& t, int64_t C, double fill) {
  if (!t.defined()) return std::vector<double>(C, fill);
  return t.to_vector<double>();
}

// sum_i f(v[i]) over n values, 4 interleaved partial sums in double.
template <class T, class F>
double plane_sum(const T* v, int64_t n, F f) {
  double acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) acc[j] += f(static_cast<double>(v[i + j]), i + j);
  for (int j = 0; i < n; ++i, ++j) acc[j] += f(static_cast<double>(v[i]), i);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

// Calls plane_fn(n, c) for every (n, c) plane, in parallel when there is enough work.
template <class F>
void for_each_plane(const ChannelLayout& L, F plane_fn) {
  const int64_t planes = L.N * L.C;
#pragma omp parallel for schedule(static) if (planes > 1 && planes * L.S > kParallelGrain)
  for (int64_t p = 0; p < planes; ++p) plane_fn(p / L.C, p % L.C);
}

// Per-channel totals of per-plane partial sums (N, C), added in order of n.
std::vector<double> channel_totals(const std::vector<double>& plane_partial, const ChannelLayout& L) {
  std::vector<double> total(L.C, 0.0);
  for (int64_t n = 0; n < L.N; ++n)
    for (int64_t c = 0; c < L.C; ++c) total[c] += plane_partial[n * L.C + c];
  return total;
}

template <class T>
Tensor channel_tensor(const std::vector<double>& v) {
  std::vector<T> cast(v.begin(), v.end());
  return Tensor::from_vector<T>(cast, {static_cast<int64_t>(v.size())});
}

}  // namespace

// Training forward:
//   mean_c   = 1/M sum x
//   var_c    = 1/M sum (x - mean_c)^2          (biased)
//   invstd_c = 1 / sqrt(var_c + eps)
//   y        = (x - mean_c) invstd_c w_c + b_c
BatchNormResult batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "batch_norm_train";
  const ChannelLayout L = channel_layout(x, op);
  norm_layout::check_train_args(L, x, weight, bias, eps, op);
  const Tensor xd = raw_contiguous(x);  // (N, C, S)
  const std::vector<double> w = channel_values(weight, L.C, 1.0), b = channel_values(bias, L.C, 0.0);
  const double M = static_cast<double>(L.M());

  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    const scalar_t* xp = xd.data<scalar_t>();
    auto plane = [&](int64_t n, int64_t c) { return xp + (n * L.C + c) * L.S; };

    // Pass 1: mean_c = sum x / M
    std::vector<double> partial(L.N * L.C);
    for_each_plane(L, [&](int64_t n, int64_t c) {
      partial[n * L.C + c] = plane_sum(plane(n, c), L.S, [](double v, int64_t) { return v; });
    });
    std::vector<double> mean = channel_totals(partial, L);
    for (double& m : mean) m /= M;

    // Pass 2: var_c = sum (x - mean_c)^2 / M   (two-pass: no cancellation)
    for_each_plane(L, [&](int64_t n, int64_t c) {
      const double mu = mean[c];
      partial[n * L.C + c] = plane_sum(plane(n, c), L.S, [mu](double v, int64_t) { return (v - mu) * (v - mu); });
    });
    std::vector<double> var = channel_totals(partial, L);
    std::vector<double> invstd(L.C);
    for (int64_t c = 0; c < L.C; ++c) {
      var[c] /= M;
      invstd[c] = 1.0 / std::sqrt(var[c] + eps);
    }

    // y = (x - mean_c) (invstd_c w_c) + b_c
    Tensor out = Tensor::empty(x.shape(), x.dtype());  // (N, C, *)
    scalar_t* yp = out.data<scalar_t>();
    for_each_plane(L, [&](int64_t n, int64_t c) {
      const double mu = mean[c], scale = invstd[c] * w[c], shift = b[c];
      const scalar_t* xs = plane(n, c);
      scalar_t* ys = yp + (n * L.C + c) * L.S;
      for (int64_t s = 0; s < L.S; ++s) ys[s] = static_cast<scalar_t>((static_cast<double>(xs[s]) - mu) * scale + shift);
    });

    BatchNormResult r;
    r.output = out;
    r.mean = channel_tensor<scalar_t>(mean);
    r.invstd = channel_tensor<scalar_t>(invstd);
    r.var = channel_tensor<scalar_t>(var);
    return r;
  });
}

// Evaluation forward: y = (x - running_mean_c) / sqrt(running_var_c + eps) w_c + b_c
Tensor batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, double eps) {
  const char* op = "batch_norm_eval";
  const ChannelLayout L = channel_layout(x, op);
  norm_layout::check_eval_args(L, x, weight, bias, running_mean, running_var, op);
  const Tensor xd = raw_contiguous(x);  // (N, C, S)
  const std::vector<double> w = channel_values(weight, L.C, 1.0), b = channel_values(bias, L.C, 0.0);
  const std::vector<double> rm = running_mean.to_vector<double>(), rv = running_var.to_vector<double>();
  std::vector<double> scale(L.C);  // w_c / sqrt(rv_c + eps)
  for (int64_t c = 0; c < L.C; ++c) {
    LOOM_CHECK(rv[c] + eps > 0, op, ": running_var[", c, "] + eps = ", rv[c] + eps, " is not positive");
    scale[c] = w[c] / std::sqrt(rv[c] + eps);
  }
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    const scalar_t* xp = xd.data<scalar_t>();
    Tensor out = Tensor::empty(x.shape(), x.dtype());  // (N, C, *)
    scalar_t* yp = out.data<scalar_t>();
    for_each_plane(L, [&](int64_t n, int64_t c) {
      const int64_t base = (n * L.C + c) * L.S;
      for (int64_t s = 0; s < L.S; ++s)
        yp[base + s] = static_cast<scalar_t>((static_cast<double>(xp[base + s]) - rm[c]) * scale[c] + b[c]);
    });
    return out;
  });
}

// Training backward, with xhat = (x - mean_c) invstd_c and g = dL/dy:
//   dL/db_c = sum g
//   dL/dw_c = sum g xhat = invstd_c sum g (x - mean_c)
//   dL/dx   = w_c invstd_c / M (M g - sum g - xhat sum(g xhat))
BatchNormGrads batch_norm_backward_train(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                         const Tensor& mean, const Tensor& invstd) {
  const char* op = "batch_norm_backward_train";
  const ChannelLayout L = channel_layout(x, op);
  check_float(grad_out, op, "grad_out");
  norm_layout::check_backward_train_args(L, grad_out, x, weight, mean, invstd, op);
  const Tensor xd = raw_contiguous(x);         // (N, C, S)
  const Tensor gd = raw_contiguous(grad_out);  // (N, C, S)
  const std::vector<double> w = channel_values(weight, L.C, 1.0);
  const std::vector<double> mu = mean.to_vector<double>(), istd = invstd.to_vector<double>();
  const double M = static_cast<double>(L.M());

  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    const scalar_t* xp = xd.data<scalar_t>();
    const scalar_t* gp = gd.data<scalar_t>();

    // Per-plane partial sums of g and of g (x - mean_c), then per channel in order of n.
    std::vector<double> partial_g(L.N * L.C), partial_gx(L.N * L.C);
    for_each_plane(L, [&](int64_t n, int64_t c) {
      const int64_t base = (n * L.C + c) * L.S;
      const double m = mu[c];
      const scalar_t* gs = gp + base;
      const scalar_t* xs = xp + base;
      partial_g[n * L.C + c] = plane_sum(gs, L.S, [](double v, int64_t) { return v; });
      partial_gx[n * L.C + c] =
          plane_sum(gs, L.S, [xs, m](double gv, int64_t i) { return gv * (static_cast<double>(xs[i]) - m); });
    });
    const std::vector<double> sum_g = channel_totals(partial_g, L);
    std::vector<double> sum_g_xhat = channel_totals(partial_gx, L);
    for (int64_t c = 0; c < L.C; ++c) sum_g_xhat[c] *= istd[c];  // sum g xhat = invstd sum g (x - mean)

    // dx = w invstd / M (M g - sum g - xhat sum(g xhat))
    Tensor grad_input = Tensor::empty(x.shape(), x.dtype());  // (N, C, *)
    scalar_t* dxp = grad_input.data<scalar_t>();
    for_each_plane(L, [&](int64_t n, int64_t c) {
      const int64_t base = (n * L.C + c) * L.S;
      const double k = w[c] * istd[c] / M, m = mu[c], is = istd[c], sg = sum_g[c], sgx = sum_g_xhat[c];
      for (int64_t s = 0; s < L.S; ++s) {
        const double xhat = (static_cast<double>(xp[base + s]) - m) * is;
        dxp[base + s] = static_cast<scalar_t>(k * (M * static_cast<double>(gp[base + s]) - sg - xhat * sgx));
      }
    });

    BatchNormGrads r;
    r.grad_input = grad_input;
    if (weight.defined()) r.grad_weight = channel_tensor<scalar_t>(sum_g_xhat);
    r.grad_bias = channel_tensor<scalar_t>(sum_g);
    return r;
  });
}

}  // namespace loom::cpu
