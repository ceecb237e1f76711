// pool.cpp: 2-D max and average pooling on the CPU, forward and backward.
//
// x (N, C, H, W) is read as P = N * C independent (H, W) planes; the output
// size and windows are in kernels/pool_geometry.h (shared with CUDA).
//
// Determinism: each plane is handled by one thread; the backward passes
// scatter-add a plane's gradients sequentially in output order, so no sum
// depends on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "kernels/pool_geometry.h"

namespace loom::cpu {

namespace {

using pool_geometry::avg_window;
using pool_geometry::AvgWindow;
using pool_geometry::pool_geometry;
using pool_geometry::PoolGeometry;

}  // namespace

// out[oh, ow] = max over the window (padding never wins: it acts as -inf);
// indices[oh, ow] = h * W + w of the maximum. The first maximum wins a tie; a
// NaN wins over any number, and a later NaN over an earlier one (PyTorch's rule).
MaxPoolResult max_pool2d(const Tensor& x, const Pool2dOptions& opt) {
  const char* op = "max_pool2d";
  check_float(x, op);
  const PoolGeometry g = pool_geometry(x.shape(), opt, op);
  const Tensor xd = raw_contiguous(x);  // (N, C, H, W)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = Tensor::empty({g.N, g.C, g.OH, g.OW}, x.dtype());      // (N, C, OH, OW)
    Tensor indices = Tensor::empty({g.N, g.C, g.OH, g.OW}, DType::Int64);  // (N, C, OH, OW)
    const scalar_t* xp = xd.data<scalar_t>();
    scalar_t* op_ = out.data<scalar_t>();
    int64_t* ip = indices.data<int64_t>();
    for_each_plane(g.N * g.C, g.OH * g.OW * g.kh * g.kw, [&](int64_t p) {
      const scalar_t* xs = xp + p * g.H * g.W;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t h0 = std::max<int64_t>(oh * g.sh - g.ph, 0), h1 = std::min(oh * g.sh - g.ph + g.kh, g.H);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t w0 = std::max<int64_t>(ow * g.sw - g.pw, 0), w1 = std::min(ow * g.sw - g.pw + g.kw, g.W);
          scalar_t best = -std::numeric_limits<scalar_t>::infinity();
          int64_t best_index = h0 * g.W + w0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) {
              const scalar_t v = xs[h * g.W + w];
              if (v > best || std::isnan(v)) {
                best = v;
                best_index = h * g.W + w;
              }
            }
          const int64_t o = (p * g.OH + oh) * g.OW + ow;
          op_[o] = best;
          ip[o] = best_index;
        }
      }
    });
    return MaxPoolResult{out, indices};
  });
}

// dL/dx[n, c, idx] += g[n, c, oh, ow] with idx = indices[n, c, oh, ow].
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape) {
  const char* op = "max_pool2d_backward";
  check_float(grad_out, op, "grad_out");
  LOOM_CHECK(input_shape.size() == 4, op, ": input_shape must be (N, C, H, W), got ", shape_str(input_shape));
  check_dim(grad_out, 4, op, "grad_out");
  LOOM_CHECK(indices.defined() && indices.dtype() == DType::Int64, op, ": indices must be int64");
  LOOM_CHECK(indices.shape() == grad_out.shape(), op, ": indices shape ", shape_str(indices.shape()),
             " differs from grad_out shape ", shape_str(grad_out.shape()));
  LOOM_CHECK(grad_out.shape()[0] == input_shape[0] && grad_out.shape()[1] == input_shape[1], op, ": grad_out ",
             shape_str(grad_out.shape()), " does not match input shape ", shape_str(input_shape), " in N and C");
  const int64_t planes = input_shape[0] * input_shape[1], HW = input_shape[2] * input_shape[3];
  const int64_t OHW = grad_out.shape()[2] * grad_out.shape()[3];
  const Tensor gd = raw_contiguous(grad_out);  // (N, C, OH, OW)
  const Tensor id = raw_contiguous(indices);   // (N, C, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = Tensor::zeros(input_shape, grad_out.dtype());  // (N, C, H, W)
    scalar_t* gxp = gx.data<scalar_t>();
    const scalar_t* gp = gd.data<scalar_t>();
    const int64_t* ip = id.data<int64_t>();
    std::vector<char> bad_index(planes, 0);  // per plane: reported after the loop (no throw inside OpenMP)
    for_each_plane(planes, OHW, [&](int64_t p) {
      for (int64_t o = p * OHW; o < (p + 1) * OHW; ++o) {
        const int64_t idx = ip[o];
        if (idx < 0 || idx >= HW) {
          bad_index[p] = 1;
          continue;
        }
        gxp[p * HW + idx] += gp[o];
      }
    });
    LOOM_CHECK(std::find(bad_index.begin(), bad_index.end(), 1) == bad_index.end(), op, ": an index is outside the input plane of ", HW, " elements (input shape ",
               shape_str(input_shape), ")");
    return gx;
  });
}

// out[oh, ow] = sum of the window / divisor, where the divisor counts the
// padded positions too when count_include_pad (PyTorch's default).
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt) {
  const char* op = "avg_pool2d";
  check_float(x, op);
  const PoolGeometry g = pool_geometry(x.shape(), opt, op);
  const Tensor xd = raw_contiguous(x);  // (N, C, H, W)
  return LOOM_DISPATCH_FLOATING(x.dtype(), op, [&] {
    Tensor out = Tensor::empty({g.N, g.C, g.OH, g.OW}, x.dtype());  // (N, C, OH, OW)
    const scalar_t* xp = xd.data<scalar_t>();
    scalar_t* yp = out.data<scalar_t>();
    for_each_plane(g.N * g.C, g.OH * g.OW * g.kh * g.kw, [&](int64_t p) {
      const scalar_t* xs = xp + p * g.H * g.W;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow win = avg_window(g, oh, ow, opt.count_include_pad);
          double s = 0;
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) s += static_cast<double>(xs[h * g.W + w]);
          yp[(p * g.OH + oh) * g.OW + ow] = static_cast<scalar_t>(s / win.divisor);
        }
    });
    return out;
  });
}

// dL/dx[h, w] = sum over the windows containing (h, w) of g[oh, ow] / divisor,
// accumulated per plane in double, in output order.
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dOptions& opt) {
  const char* op = "avg_pool2d_backward";
  check_float(grad_out, op, "grad_out");
  const PoolGeometry g = pool_geometry(input_shape, opt, op);
  check_shape(grad_out, {g.N, g.C, g.OH, g.OW}, op, "grad_out");
  const Tensor gd = raw_contiguous(grad_out);  // (N, C, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = Tensor::empty(input_shape, grad_out.dtype());  // (N, C, H, W)
    scalar_t* gxp = gx.data<scalar_t>();
    const scalar_t* gp = gd.data<scalar_t>();
    for_each_plane(g.N * g.C, g.OH * g.OW * g.kh * g.kw, [&](int64_t p) {
      std::vector<double> acc(g.H * g.W, 0.0);  // (H, W) of this plane
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow win = avg_window(g, oh, ow, opt.count_include_pad);
          const double share = static_cast<double>(gp[(p * g.OH + oh) * g.OW + ow]) / win.divisor;
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) acc[h * g.W + w] += share;
        }
      scalar_t* gs = gxp + p * g.H * g.W;
      for (int64_t i = 0; i < g.H * g.W; ++i) gs[i] = static_cast<scalar_t>(acc[i]);
    });
    return gx;
  });
}

}  // namespace loom::cpu
