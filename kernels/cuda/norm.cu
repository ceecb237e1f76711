// norm.cu: batch normalisation on CUDA: the training forward (batch
// statistics), the evaluation forward (running statistics) and the training
// backward, with the semantics of kernels/cpu/norm.cpp (the oracle).
//
// x (N, C, *) is read as a dense (N, C, S) block; channel c has M = N * S
// values, element j in [0, M) of channel c at ((j / S) * C + c) * S + j % S.
//
// Kernel versions:
//   channel_stats_v1_block_tree (default, the only one): one block per
//     channel. Threads stride over the channel's M values (consecutive
//     threads read consecutive s: coalesced), accumulate in double, and the
//     block adds its partial sums by a shared-memory tree in a fixed order, so
//     the result never depends on timing (no atomics). Teaches the per-group
//     reduction and the two-pass mean/variance. Few channels with very many
//     values each would want a split over several blocks per channel (a
//     second fixed-order pass); not written yet.
//   batch_norm_apply / batch_norm_backward_input: elementwise grid-stride
//     passes with the per-channel numbers (kept in double, as the CPU does).
#include <cmath>

#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/norm_layout.h"

namespace loom::cuda {

namespace {

using norm_layout::ChannelLayout;

constexpr int kStatThreads = 256;  // block size of the per-channel reductions (a power of two)

ChannelLayout channel_layout(const Tensor& x, const char* op) {
  check_float_cuda(x, op);
  return norm_layout::channel_layout(x, op);
}

// The sum of v over the block (every thread passes its partial); the total is
// returned to thread 0. Pairs are added in a fixed tree order.
__device__ double block_sum(double v, double* shared) {
  const int t = threadIdx.x;
  shared[t] = v;
  __syncthreads();
  for (int half = kStatThreads / 2; half > 0; half /= 2) {
    if (t < half) shared[t] += shared[t + half];
    __syncthreads();
  }
  const double total = shared[0];
  __syncthreads();  // shared is reused by the next call
  return total;
}

// Offset of value j of channel c in the dense (N, C, S) block.
__device__ __forceinline__ int64_t channel_offset(int64_t j, int64_t c, int64_t C, int64_t S) {
  return ((j / S) * C + c) * S + j % S;
}

// One block per channel c:
//   mean_c = sum x / M ; var_c = sum (x - mean_c)^2 / M ; invstd_c = 1 / ::sqrt(var_c + eps)
// stats (C, 2) double gets (mean_c, invstd_c) for the output pass.
template <class T>
__global__ void channel_stats_v1_block_tree(const T* __restrict__ x, int64_t C, int64_t S, int64_t M, double eps,
                                            T* __restrict__ mean_out, T* __restrict__ var_out,
                                            T* __restrict__ invstd_out, double* __restrict__ stats) {
  __shared__ double shared[kStatThreads];
  const int64_t c = blockIdx.x;
  if (c >= C) return;
  double s = 0;
  for (int64_t j = threadIdx.x; j < M; j += kStatThreads) s += static_cast<double>(x[channel_offset(j, c, C, S)]);
  const double mean = block_sum(s, shared) / static_cast<double>(M);
  double q = 0;
  for (int64_t j = threadIdx.x; j < M; j += kStatThreads) {
    const double d = static_cast<double>(x[channel_offset(j, c, C, S)]) - mean;
    q += d * d;
  }
  const double var = block_sum(q, shared) / static_cast<double>(M);
  if (threadIdx.x == 0) {
    const double invstd = 1.0 / ::sqrt(var + eps);
    mean_out[c] = static_cast<T>(mean);
    var_out[c] = static_cast<T>(var);
    invstd_out[c] = static_cast<T>(invstd);
    stats[2 * c] = mean;
    stats[2 * c + 1] = invstd;
  }
}

// y = (x - mean_c) (invstd_c w_c) + b_c over the dense (N, C, S) block;
// stats (C, 2) = (mean_c, invstd_c); weight/bias may be null (1 and 0).
template <class T>
__global__ void batch_norm_apply(const T* __restrict__ x, const double* __restrict__ stats,
                                 const T* __restrict__ weight, const T* __restrict__ bias, int64_t C, int64_t S,
                                 int64_t n, T* __restrict__ y) {
  LOOM_GRID_STRIDE_LOOP(i, n) {
    const int64_t c = (i / S) % C;
    const double w = weight ? static_cast<double>(weight[c]) : 1.0, b = bias ? static_cast<double>(bias[c]) : 0.0;
    const double scale = stats[2 * c + 1] * w;
    y[i] = static_cast<T>((static_cast<double>(x[i]) - stats[2 * c]) * scale + b);
  }
}

// y = (x - rm_c) (w_c / ::sqrt(rv_c + eps)) + b_c
template <class T>
__global__ void batch_norm_eval_apply(const T* __restrict__ x, const T* __restrict__ running_mean,
                                      const T* __restrict__ running_var, const T* __restrict__ weight,
                                      const T* __restrict__ bias, double eps, int64_t C, int64_t S, int64_t n,
                                      T* __restrict__ y) {
  LOOM_GRID_STRIDE_LOOP(i, n) {
    const int64_t c = (i / S) % C;
    const double w = weight ? static_cast<double>(weight[c]) : 1.0, b = bias ? static_cast<double>(bias[c]) : 0.0;
    const double scale = w / ::sqrt(static_cast<double>(running_var[c]) + eps);
    y[i] = static_cast<T>((static_cast<double>(x[i]) - static_cast<double>(running_mean[c])) * scale + b);
  }
}

// One block per channel: sum_g = sum g, sum_g_xhat = invstd_c sum g (x - mean_c).
// Writes grad_bias, grad_weight (when not null) and sums (C, 2) double.
template <class T>
__global__ void channel_grad_sums_v1_block_tree(const T* __restrict__ g, const T* __restrict__ x,
                                                const T* __restrict__ mean, const T* __restrict__ invstd, int64_t C,
                                                int64_t S, int64_t M, T* __restrict__ grad_weight,
                                                T* __restrict__ grad_bias, double* __restrict__ sums) {
  __shared__ double shared[kStatThreads];
  const int64_t c = blockIdx.x;
  if (c >= C) return;
  const double m = static_cast<double>(mean[c]);
  double sg = 0, sgx = 0;
  for (int64_t j = threadIdx.x; j < M; j += kStatThreads) {
    const int64_t o = channel_offset(j, c, C, S);
    const double gv = static_cast<double>(g[o]);
    sg += gv;
    sgx += gv * (static_cast<double>(x[o]) - m);
  }
  const double sum_g = block_sum(sg, shared);
  const double sum_g_xhat = block_sum(sgx, shared) * static_cast<double>(invstd[c]);
  if (threadIdx.x == 0) {
    grad_bias[c] = static_cast<T>(sum_g);
    if (grad_weight) grad_weight[c] = static_cast<T>(sum_g_xhat);
    sums[2 * c] = sum_g;
    sums[2 * c + 1] = sum_g_xhat;
  }
}

// dx = w_c invstd_c / M (M g - sum g - xhat sum(g xhat)), xhat = (x - mean_c) invstd_c
template <class T>
__global__ void batch_norm_backward_input(const T* __restrict__ g, const T* __restrict__ x,
                                          const T* __restrict__ mean, const T* __restrict__ invstd,
                                          const T* __restrict__ weight, const double* __restrict__ sums, int64_t C,
                                          int64_t S, double M, int64_t n, T* __restrict__ dx) {
  LOOM_GRID_STRIDE_LOOP(i, n) {
    const int64_t c = (i / S) % C;
    const double w = weight ? static_cast<double>(weight[c]) : 1.0;
    const double is = static_cast<double>(invstd[c]), m = static_cast<double>(mean[c]);
    const double k = w * is / M;
    const double xhat = (static_cast<double>(x[i]) - m) * is;
    dx[i] = static_cast<T>(k * (M * static_cast<double>(g[i]) - sums[2 * c] - xhat * sums[2 * c + 1]));
  }
}

// A per-channel tensor made dense (undefined stays undefined).
Tensor dense_or_undefined(const Tensor& t) { return t.defined() ? dense(t) : t; }

// Pointer to a dense per-channel tensor's data, or null when it is undefined.
template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

BatchNormResult batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "batch_norm_train";
  const ChannelLayout L = channel_layout(x, op);
  norm_layout::check_train_args(L, x, weight, bias, eps, op);
  set_device_of(x);
  const Tensor xd = dense(x);  // (N, C, S)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    BatchNormResult r;
    r.output = empty_on(x.shape(), x.dtype(), x);  // (N, C, *)
    r.mean = empty_on({L.C}, x.dtype(), x);
    r.var = empty_on({L.C}, x.dtype(), x);
    r.invstd = empty_on({L.C}, x.dtype(), x);
    if (L.C == 0) return r;
    const Tensor stats = empty_on({L.C, 2}, DType::Float64, x);  // (C, 2): mean_c, invstd_c in double
    const Tensor wd = dense_or_undefined(weight), bd = dense_or_undefined(bias);
    cudaStream_t stream = stream_of(x);
    channel_stats_v1_block_tree<scalar_t><<<static_cast<unsigned>(L.C), kStatThreads, 0, stream>>>(
        xd.data<scalar_t>(), L.C, L.S, L.M(), eps, r.mean.data<scalar_t>(), r.var.data<scalar_t>(),
        r.invstd.data<scalar_t>(), stats.data<double>());
    LOOM_CUDA_CHECK_LAUNCH("channel_stats_v1_block_tree");
    const int64_t n = x.numel();
    batch_norm_apply<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
        xd.data<scalar_t>(), stats.data<double>(), data_or_null<scalar_t>(wd), data_or_null<scalar_t>(bd), L.C,
        L.S, n, r.output.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("batch_norm_apply");
    return r;
  });
}

Tensor batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, double eps) {
  const char* op = "batch_norm_eval";
  const ChannelLayout L = channel_layout(x, op);
  norm_layout::check_eval_args(L, x, weight, bias, running_mean, running_var, op);
  set_device_of(x);
  // The CPU refuses running_var + eps <= 0: the (C) values are read back for the same check.
  const std::vector<double> rv = running_var.to(Device::cpu()).to_vector<double>();
  for (int64_t c = 0; c < L.C; ++c)
    LOOM_CHECK(rv[c] + eps > 0, op, ": running_var[", c, "] + eps = ", rv[c] + eps, " is not positive");
  const Tensor xd = dense(x);  // (N, C, S)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = empty_on(x.shape(), x.dtype(), x);  // (N, C, *)
    const int64_t n = x.numel();
    if (n == 0) return out;
    const Tensor rmd = dense(running_mean), rvd = dense(running_var);
    const Tensor wd = dense_or_undefined(weight), bd = dense_or_undefined(bias);
    batch_norm_eval_apply<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(
        xd.data<scalar_t>(), rmd.data<scalar_t>(), rvd.data<scalar_t>(), data_or_null<scalar_t>(wd),
        data_or_null<scalar_t>(bd), eps, L.C, L.S, n, out.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("batch_norm_eval_apply");
    return out;
  });
}

BatchNormGrads batch_norm_backward_train(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                         const Tensor& mean, const Tensor& invstd) {
  const char* op = "batch_norm_backward_train";
  const ChannelLayout L = channel_layout(x, op);
  check_float_cuda(grad_out, op, "grad_out");
  norm_layout::check_backward_train_args(L, grad_out, x, weight, mean, invstd, op);
  set_device_of(x);
  const Tensor xd = dense(x), gd = dense(grad_out);  // (N, C, S)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    BatchNormGrads r;
    r.grad_input = empty_on(x.shape(), x.dtype(), x);  // (N, C, *)
    r.grad_bias = empty_on({L.C}, x.dtype(), x);
    if (weight.defined()) r.grad_weight = empty_on({L.C}, x.dtype(), x);
    if (L.C == 0) return r;
    const Tensor md = dense(mean), isd = dense(invstd);
    const Tensor wd = dense_or_undefined(weight);
    const Tensor sums = empty_on({L.C, 2}, DType::Float64, x);  // (C, 2): sum g, sum g xhat
    cudaStream_t stream = stream_of(x);
    channel_grad_sums_v1_block_tree<scalar_t><<<static_cast<unsigned>(L.C), kStatThreads, 0, stream>>>(
        gd.data<scalar_t>(), xd.data<scalar_t>(), md.data<scalar_t>(), isd.data<scalar_t>(), L.C, L.S, L.M(),
        weight.defined() ? r.grad_weight.data<scalar_t>() : nullptr, r.grad_bias.data<scalar_t>(),
        sums.data<double>());
    LOOM_CUDA_CHECK_LAUNCH("channel_grad_sums_v1_block_tree");
    const int64_t n = x.numel();
    if (n > 0) {
      batch_norm_backward_input<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
          gd.data<scalar_t>(), xd.data<scalar_t>(), md.data<scalar_t>(), isd.data<scalar_t>(),
          data_or_null<scalar_t>(wd), sums.data<double>(), L.C, L.S, static_cast<double>(L.M()), n,
          r.grad_input.data<scalar_t>());
      LOOM_CUDA_CHECK_LAUNCH("batch_norm_backward_input");
    }
    return r;
  });
}

}  // namespace loom::cuda
