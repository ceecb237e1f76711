// resample.cpp: 2-D nearest and bilinear upsampling (any output size) on the
// CPU, forward and backward, with PyTorch's source-index rules.
//
// x (N, C, H, W) is read as N * C independent (H, W) planes. Each output axis
// gets a table of source indices (and bilinear weights) computed once.
//
// Determinism: each plane is handled by one thread; the backward passes
// scatter-add a plane's gradients sequentially, in output order, into a double
// buffer, so no sum depends on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "kernels/resample_geometry.h"

namespace loom::cpu {

namespace {

using resample_geometry::check_sizes;
using resample_geometry::LinearTap;

// A resampling backward gets grad_out (N, C, OH, OW) for an input (N, C, H, W).
void check_backward_args(const Tensor& grad_out, const Shape& input_shape, const char* op) {
  check_float(grad_out, op, "grad_out");
  resample_geometry::check_backward_shapes(grad_out, input_shape, op);
}

// The source index of every output position (rule: resample_geometry::nearest_source).
std::vector<int64_t> nearest_table(int64_t in, int64_t out) {
  std::vector<int64_t> src(out);
  for (int64_t d = 0; d < out; ++d) src[d] = resample_geometry::nearest_source(d, in, out);
  return src;
}

// The bilinear tap of every output position (rule: resample_geometry::linear_tap).
std::vector<LinearTap> linear_table(int64_t in, int64_t out, bool align_corners) {
  std::vector<LinearTap> taps(out);
  const double scale = resample_geometry::linear_scale(in, out, align_corners);
  for (int64_t d = 0; d < out; ++d) taps[d] = resample_geometry::linear_tap(d, in, out, scale, align_corners);
  return taps;
}

}  // namespace

// y[oh, ow] = x[src_h(oh), src_w(ow)]
Tensor upsample_nearest2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  const char* op = "upsample_nearest2d";
  check_float(x, op);
  check_sizes(x.shape(), out_h, out_w, op);
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const std::vector<int64_t> src_h = nearest_table(H, out_h), src_w = nearest_table(W, out_w);
  const Tensor xd = raw_contiguous(x);  // (N, C, H, W)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = Tensor::empty({N, C, out_h, out_w}, x.dtype());  // (N, C, OH, OW)
    const scalar_t* xp = xd.data<scalar_t>();
    scalar_t* yp = out.data<scalar_t>();
    for_each_plane(N * C, out_h * out_w, [&](int64_t p) {
      const scalar_t* xs = xp + p * H * W;
      scalar_t* ys = yp + p * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t ow = 0; ow < out_w; ++ow) ys[oh * out_w + ow] = xs[src_h[oh] * W + src_w[ow]];
    });
    return out;
  });
}

// dL/dx[h, w] = sum of g[oh, ow] over the outputs that copied (h, w).
Tensor upsample_nearest2d_backward(const Tensor& grad_out, const Shape& input_shape) {
  const char* op = "upsample_nearest2d_backward";
  check_backward_args(grad_out, input_shape, op);
  const int64_t out_h = grad_out.shape()[2], out_w = grad_out.shape()[3];
  const int64_t N = input_shape[0], C = input_shape[1], H = input_shape[2], W = input_shape[3];
  const std::vector<int64_t> src_h = nearest_table(H, out_h), src_w = nearest_table(W, out_w);
  const Tensor gd = raw_contiguous(grad_out);  // (N, C, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = Tensor::empty(input_shape, grad_out.dtype());  // (N, C, H, W)
    const scalar_t* gp = gd.data<scalar_t>();
    scalar_t* gxp = gx.data<scalar_t>();
    for_each_plane(N * C, out_h * out_w, [&](int64_t p) {
      std::vector<double> acc(H * W, 0.0);  // (H, W)
      const scalar_t* gs = gp + p * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t ow = 0; ow < out_w; ++ow) acc[src_h[oh] * W + src_w[ow]] += static_cast<double>(gs[oh * out_w + ow]);
      for (int64_t i = 0; i < H * W; ++i) gxp[p * H * W + i] = static_cast<scalar_t>(acc[i]);
    });
    return gx;
  });
}

// y[oh, ow] = lh0 (lw0 x[h0, w0] + lw1 x[h0, w1]) + lh1 (lw0 x[h1, w0] + lw1 x[h1, w1])
Tensor upsample_bilinear2d(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners) {
  const char* op = "upsample_bilinear2d";
  check_float(x, op);
  check_sizes(x.shape(), out_h, out_w, op);
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const std::vector<LinearTap> th = linear_table(H, out_h, align_corners), tw = linear_table(W, out_w, align_corners);
  const Tensor xd = raw_contiguous(x);  // (N, C, H, W)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = Tensor::empty({N, C, out_h, out_w}, x.dtype());  // (N, C, OH, OW)
    const scalar_t* xp = xd.data<scalar_t>();
    scalar_t* yp = out.data<scalar_t>();
    for_each_plane(N * C, out_h * out_w * 4, [&](int64_t p) {
      const scalar_t* xs = xp + p * H * W;
      scalar_t* ys = yp + p * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const LinearTap& a = th[oh];
        const scalar_t* r0 = xs + a.i0 * W;  // row h0
        const scalar_t* r1 = xs + a.i1 * W;  // row h1
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const LinearTap& b = tw[ow];
          const double top = b.l0 * static_cast<double>(r0[b.i0]) + b.l1 * static_cast<double>(r0[b.i1]);
          const double bottom = b.l0 * static_cast<double>(r1[b.i0]) + b.l1 * static_cast<double>(r1[b.i1]);
          ys[oh * out_w + ow] = static_cast<scalar_t>(a.l0 * top + a.l1 * bottom);
        }
      }
    });
    return out;
  });
}

// The adjoint: each g[oh, ow] is spread over its four sources with the same weights.
Tensor upsample_bilinear2d_backward(const Tensor& grad_out, const Shape& input_shape, bool align_corners) {
  const char* op = "upsample_bilinear2d_backward";
  check_backward_args(grad_out, input_shape, op);
  const int64_t out_h = grad_out.shape()[2], out_w = grad_out.shape()[3];
  const int64_t N = input_shape[0], C = input_shape[1], H = input_shape[2], W = input_shape[3];
  const std::vector<LinearTap> th = linear_table(H, out_h, align_corners), tw = linear_table(W, out_w, align_corners);
  const Tensor gd = raw_contiguous(grad_out);  // (N, C, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = Tensor::empty(input_shape, grad_out.dtype());  // (N, C, H, W)
    const scalar_t* gp = gd.data<scalar_t>();
    scalar_t* gxp = gx.data<scalar_t>();
    for_each_plane(N * C, out_h * out_w * 4, [&](int64_t p) {
      std::vector<double> acc(H * W, 0.0);  // (H, W)
      const scalar_t* gs = gp + p * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const LinearTap& a = th[oh];
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const LinearTap& b = tw[ow];
          const double g = static_cast<double>(gs[oh * out_w + ow]);
          acc[a.i0 * W + b.i0] += a.l0 * b.l0 * g;
          acc[a.i0 * W + b.i1] += a.l0 * b.l1 * g;
          acc[a.i1 * W + b.i0] += a.l1 * b.l0 * g;
          acc[a.i1 * W + b.i1] += a.l1 * b.l1 * g;
        }
      }
      for (int64_t i = 0; i < H * W; ++i) gxp[p * H * W + i] = static_cast<scalar_t>(acc[i]);
    });
    return gx;
  });
}

}  // namespace loom::cpu
