// pool_geometry.h: the geometry of 2-D max and average pooling (output size,
// argument checks, the average-pool window and its divisor), shared by the
// CPU (kernels/cpu/pool.cpp) and CUDA (kernels/cuda/pool.cu) implementations.
//
// With kernel k, stride s and padding p (per axis), the output size is
//   OH = floor((H + 2 p - k) / s) + 1            (PyTorch, ceil_mode = false)
// and output (oh, ow) looks at the window rows [oh s - p, oh s - p + k) and
// columns [ow s - p, ow s - p + k), clipped to the input.
#pragma once
#include "kernels/hd.h"
#include "kernels/options.h"
#include "tensor/tensor.h"

namespace loom::pool_geometry {

struct PoolGeometry {
  int64_t N, C, H, W, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw;
};

// Checks the options against an input of shape (N, C, H, W) and computes the output size.
inline PoolGeometry pool_geometry(const Shape& in, const Pool2dOptions& opt, const char* op) {
  LOOM_CHECK(in.size() == 4, op, ": input must have shape (N, C, H, W), got ", shape_str(in));
  PoolGeometry g{in[0], in[1], in[2], in[3], 0, 0, opt.kernel[0], opt.kernel[1], opt.stride[0], opt.stride[1],
                 opt.padding[0], opt.padding[1]};
  LOOM_CHECK(g.kh > 0 && g.kw > 0, op, ": kernel must be positive, got (", g.kh, ", ", g.kw, ")");
  LOOM_CHECK(g.sh > 0 && g.sw > 0, op, ": stride must be positive, got (", g.sh, ", ", g.sw, ")");
  LOOM_CHECK(g.ph >= 0 && g.pw >= 0, op, ": padding must be >= 0, got (", g.ph, ", ", g.pw, ")");
  LOOM_CHECK(2 * g.ph <= g.kh && 2 * g.pw <= g.kw, op, ": padding (", g.ph, ", ", g.pw,
             ") must be at most half the kernel size (", g.kh, ", ", g.kw, ")");
  LOOM_CHECK(g.H + 2 * g.ph >= g.kh && g.W + 2 * g.pw >= g.kw, op, ": input ", shape_str(in), " with padding (", g.ph,
             ", ", g.pw, ") is smaller than the kernel (", g.kh, ", ", g.kw, ")");
  g.OH = (g.H + 2 * g.ph - g.kh) / g.sh + 1;
  g.OW = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
  return g;
}

// Average-pool window of output (oh, ow): the clipped bounds and the divisor.
struct AvgWindow {
  int64_t h0, h1, w0, w1;  // [h0, h1) x [w0, w1) inside the input
  double divisor;
};

// PyTorch's rule: the window is first clipped to the padded input (its size
// is the divisor when count_include_pad), then to the input itself.
LOOM_HD inline AvgWindow avg_window(const PoolGeometry& g, int64_t oh, int64_t ow, bool count_include_pad) {
  int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  int64_t h1 = h0 + g.kh < g.H + g.ph ? h0 + g.kh : g.H + g.ph;
  int64_t w1 = w0 + g.kw < g.W + g.pw ? w0 + g.kw : g.W + g.pw;
  const int64_t padded_size = (h1 - h0) * (w1 - w0);
  h0 = h0 > 0 ? h0 : 0;
  w0 = w0 > 0 ? w0 : 0;
  h1 = h1 < g.H ? h1 : g.H;
  w1 = w1 < g.W ? w1 : g.W;
  const int64_t inside = (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, static_cast<double>(count_include_pad ? padded_size : inside)};
}

// The outputs along one axis whose window [o s - p, o s - p + k) contains
// input position i: o in [lo, hi) (empty when lo >= hi). Used by the gather
// form of the backward passes.
struct OutputRange {
  int64_t lo, hi;
};
LOOM_HD inline OutputRange outputs_containing(int64_t i, int64_t k, int64_t s, int64_t p, int64_t out) {
  // o s - p <= i  <=>  o <= (i + p) / s ;  o s - p + k > i  <=>  o > (i + p - k) / s
  const int64_t top = i + p;                                  // >= 0
  int64_t hi = top / s + 1;                                   // floor((i + p) / s) + 1
  const int64_t num = top - k;                                // o s > num
  int64_t lo = num < 0 ? 0 : num / s + 1;                     // smallest o with o s > num
  if (hi > out) hi = out;
  if (lo < 0) lo = 0;
  return {lo, hi};
}

}  // namespace loom::pool_geometry
