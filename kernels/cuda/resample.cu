// resample.cu: 2-D nearest and bilinear upsampling (any output size) on CUDA,
// forward and backward, with PyTorch's source-index rules exactly as
// kernels/cpu/resample.cpp (the oracle); the rules themselves are
// kernels/resample_geometry.h, shared with the CPU.
//
// Kernel versions:
//   upsample_nearest2d_forward, upsample_bilinear2d_forward: one thread per
//     output element, the same expressions as the CPU (results equal).
//   upsample_nearest2d_backward_v1_gather, upsample_bilinear2d_backward_v1_gather
//     (default, the only ones): one thread per INPUT element. The outputs
//     that read input row h form one contiguous range along each axis (the
//     source index is non-decreasing in the output index), found by binary
//     search on the same index rule the forward uses, so no estimate can be
//     off by one (resample_geometry::nearest_readers / bilinear_readers,
//     tested on the host against brute force). The thread then adds those outputs' contributions in
//     output order, in double, with the CPU's four-term order for bilinear:
//     no atomics, and the same additions in the same order as the CPU's
//     scatter.
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/resample_geometry.h"

namespace loom::cuda {

namespace {

namespace rg = resample_geometry;

// One axis of a resampling: input size, output size and the bilinear scale.
struct Axis {
  int64_t in, out;
  double scale;
  bool align_corners;
};

Axis make_axis(int64_t in, int64_t out, bool align_corners) {
  return {in, out, rg::linear_scale(in, out, align_corners), align_corners};
}

__device__ __forceinline__ rg::LinearTap tap(const Axis& a, int64_t dst) {
  return rg::linear_tap(dst, a.in, a.out, a.scale, a.align_corners);
}

__device__ __forceinline__ rg::Range nearest_readers(const Axis& a, int64_t i) {
  return rg::nearest_readers(i, a.in, a.out);
}
__device__ __forceinline__ rg::Range bilinear_readers(const Axis& a, int64_t i) {
  return rg::bilinear_readers(i, a.in, a.out, a.scale, a.align_corners);
}

// y[p, oh, ow] = x[p, src_h(oh), src_w(ow)]
template <class T>
__global__ void upsample_nearest2d_forward(const T* __restrict__ x, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                           int64_t n, T* __restrict__ y) {
  LOOM_GRID_STRIDE_LOOP(o, n) {
    const int64_t ow = o % OW, oh = (o / OW) % OH, p = o / (OW * OH);
    y[o] = x[p * H * W + rg::nearest_source(oh, H, OH) * W + rg::nearest_source(ow, W, OW)];
  }
}

// gx[p, h, w] = sum of g[p, oh, ow] over the outputs that copied (h, w), in output order.
template <class T>
__global__ void upsample_nearest2d_backward_v1_gather(const T* __restrict__ g, Axis ah, Axis aw, int64_t n,
                                                      T* __restrict__ gx) {
  LOOM_GRID_STRIDE_LOOP(i, n) {
    const int64_t w = i % aw.in, h = (i / aw.in) % ah.in, p = i / (aw.in * ah.in);
    const rg::Range rh = nearest_readers(ah, h), rw = nearest_readers(aw, w);
    const T* gs = g + p * ah.out * aw.out;
    double acc = 0;
    for (int64_t oh = rh.lo; oh < rh.hi; ++oh)
      for (int64_t ow = rw.lo; ow < rw.hi; ++ow) acc += static_cast<double>(gs[oh * aw.out + ow]);
    gx[i] = static_cast<T>(acc);
  }
}

// y = lh0 (lw0 x[h0, w0] + lw1 x[h0, w1]) + lh1 (lw0 x[h1, w0] + lw1 x[h1, w1])
template <class T>
__global__ void upsample_bilinear2d_forward(const T* __restrict__ x, Axis ah, Axis aw, int64_t n,
                                            T* __restrict__ y) {
  LOOM_GRID_STRIDE_LOOP(o, n) {
    const int64_t ow = o % aw.out, oh = (o / aw.out) % ah.out, p = o / (aw.out * ah.out);
    const rg::LinearTap a = tap(ah, oh), b = tap(aw, ow);
    const T* r0 = x + p * ah.in * aw.in + a.i0 * aw.in;  // row h0
    const T* r1 = x + p * ah.in * aw.in + a.i1 * aw.in;  // row h1
    const double top = b.l0 * static_cast<double>(r0[b.i0]) + b.l1 * static_cast<double>(r0[b.i1]);
    const double bottom = b.l0 * static_cast<double>(r1[b.i0]) + b.l1 * static_cast<double>(r1[b.i1]);
    y[o] = static_cast<T>(a.l0 * top + a.l1 * bottom);
  }
}

// The adjoint, gathered: gx[p, h, w] = sum over outputs (oh, ow) touching (h, w)
// of the weights with which (h, w) entered y[oh, ow], times g[oh, ow]; the four
// terms of one output in the CPU's order (i0 i0, i0 i1, i1 i0, i1 i1).
template <class T>
__global__ void upsample_bilinear2d_backward_v1_gather(const T* __restrict__ g, Axis ah, Axis aw, int64_t n,
                                                       T* __restrict__ gx) {
  LOOM_GRID_STRIDE_LOOP(i, n) {
    const int64_t w = i % aw.in, h = (i / aw.in) % ah.in, p = i / (aw.in * ah.in);
    const rg::Range rh = bilinear_readers(ah, h), rw = bilinear_readers(aw, w);
    const T* gs = g + p * ah.out * aw.out;
    double acc = 0;
    for (int64_t oh = rh.lo; oh < rh.hi; ++oh) {
      const rg::LinearTap a = tap(ah, oh);
      for (int64_t ow = rw.lo; ow < rw.hi; ++ow) {
        const rg::LinearTap b = tap(aw, ow);
        const double gv = static_cast<double>(gs[oh * aw.out + ow]);
        if (a.i0 == h && b.i0 == w) acc += a.l0 * b.l0 * gv;
        if (a.i0 == h && b.i1 == w) acc += a.l0 * b.l1 * gv;
        if (a.i1 == h && b.i0 == w) acc += a.l1 * b.l0 * gv;
        if (a.i1 == h && b.i1 == w) acc += a.l1 * b.l1 * gv;
      }
    }
    gx[i] = static_cast<T>(acc);
  }
}

// Throws naming `op` unless grad_out is a float CUDA tensor of shape (N, C, OH, OW) for input_shape.
void check_backward_args(const Tensor& grad_out, const Shape& input_shape, const char* op) {
  check_float_cuda(grad_out, op, "grad_out");
  rg::check_backward_shapes(grad_out, input_shape, op);
}

}  // namespace

Tensor upsample_nearest2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  const char* op = "upsample_nearest2d";
  check_float_cuda(x, op);
  rg::check_sizes(x.shape(), out_h, out_w, op);
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  set_device_of(x);
  const Tensor xd = dense(x);  // (N, C, H, W)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = empty_on({N, C, out_h, out_w}, x.dtype(), x);  // (N, C, OH, OW)
    const int64_t n = out.numel();
    if (n == 0) return out;
    upsample_nearest2d_forward<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(
        xd.data<scalar_t>(), H, W, out_h, out_w, n, out.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("upsample_nearest2d_forward");
    return out;
  });
}

Tensor upsample_nearest2d_backward(const Tensor& grad_out, const Shape& input_shape) {
  const char* op = "upsample_nearest2d_backward";
  check_backward_args(grad_out, input_shape, op);
  const int64_t out_h = grad_out.shape()[2], out_w = grad_out.shape()[3];
  set_device_of(grad_out);
  const Tensor gd = dense(grad_out);  // (N, C, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = empty_on(input_shape, grad_out.dtype(), grad_out);  // (N, C, H, W)
    const int64_t n = gx.numel();
    if (n == 0) return gx;
    upsample_nearest2d_backward_v1_gather<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(grad_out)>>>(
        gd.data<scalar_t>(), make_axis(input_shape[2], out_h, false), make_axis(input_shape[3], out_w, false), n,
        gx.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("upsample_nearest2d_backward_v1_gather");
    return gx;
  });
}

Tensor upsample_bilinear2d(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) {
  const char* op = "upsample_bilinear2d";
  check_float_cuda(x, op);
  rg::check_sizes(x.shape(), out_h, out_w, op);
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  set_device_of(x);
  const Tensor xd = dense(x);  // (N, C, H, W)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = empty_on({N, C, out_h, out_w}, x.dtype(), x);  // (N, C, OH, OW)
    const int64_t n = out.numel();
    if (n == 0) return out;
    upsample_bilinear2d_forward<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(x)>>>(
        xd.data<scalar_t>(), make_axis(H, out_h, align_corners), make_axis(W, out_w, align_corners), n,
        out.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("upsample_bilinear2d_forward");
    return out;
  });
}

Tensor upsample_bilinear2d_backward(const Tensor& grad_out, const Shape& input_shape, bool align_corners) {
  const char* op = "upsample_bilinear2d_backward";
  check_backward_args(grad_out, input_shape, op);
  const int64_t out_h = grad_out.shape()[2], out_w = grad_out.shape()[3];
  set_device_of(grad_out);
  const Tensor gd = dense(grad_out);  // (N, C, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = empty_on(input_shape, grad_out.dtype(), grad_out);  // (N, C, H, W)
    const int64_t n = gx.numel();
    if (n == 0) return gx;
    upsample_bilinear2d_backward_v1_gather<scalar_t><<<blocks_for(n), kThreads, 0, stream_of(grad_out)>>>(
        gd.data<scalar_t>(), make_axis(input_shape[2], out_h, align_corners),
        make_axis(input_shape[3], out_w, align_corners), n, gx.data<scalar_t>());
    LOOM_CUDA_CHECK_LAUNCH("upsample_bilinear2d_backward_v1_gather");
    return gx;
  });
}

}  // namespace loom::cuda
