// conv_geometry.h: the argument checks and output-size arithmetic of the 2-D
// convolution ops, shared by the CPU reference (kernels/cpu/conv.cpp) and the
// CUDA kernels (kernels/cuda/conv*.cu) so that both accept the same arguments
// and fail with the same messages.
//
//   conv2d:            OH = (H + 2 pad - dil (KH-1) - 1) / stride + 1
//   conv_transpose2d:  OH = (H-1) stride - 2 pad + dil (KH-1) + output_padding + 1
//
// ConvGeometry (kernels/cpu/im2col.h, a plain struct) describes the forward
// convolution; a transposed convolution is described by the forward
// convolution it is the transpose of (image = its output, output = its input).
#pragma once
#include <sstream>
#include <string>

#include "kernels/cpu/im2col.h"
#include "kernels/options.h"
#include "tensor/error.h"
#include "tensor/shape.h"

namespace loom::conv_geometry {

using ConvGeometry = cpu::ConvGeometry;

inline std::string pair_str(const Pair& p) {
  std::ostringstream s;
  s << "[" << p[0] << ", " << p[1] << "]";
  return s.str();
}

// Stride and dilation positive, padding non-negative; output_padding [0, 0]
// unless transposed, else non-negative and below stride or dilation (as PyTorch).
inline void check_options(const Conv2dOptions& opt, const char* op, bool transposed) {
  LOOM_CHECK(opt.stride[0] > 0 && opt.stride[1] > 0, op, ": stride must be positive, got ", pair_str(opt.stride));
  LOOM_CHECK(opt.dilation[0] > 0 && opt.dilation[1] > 0, op, ": dilation must be positive, got ",
             pair_str(opt.dilation));
  LOOM_CHECK(opt.padding[0] >= 0 && opt.padding[1] >= 0, op, ": padding must be non-negative, got ",
             pair_str(opt.padding));
  if (!transposed) {
    LOOM_CHECK(opt.output_padding[0] == 0 && opt.output_padding[1] == 0, op, ": output_padding ",
               pair_str(opt.output_padding), " is only meaningful for conv_transpose2d; it must be [0, 0] here");
    return;
  }
  LOOM_CHECK(opt.output_padding[0] >= 0 && opt.output_padding[1] >= 0, op,
             ": output_padding must be non-negative, got ", pair_str(opt.output_padding));
  for (int d = 0; d < 2; ++d)
    LOOM_CHECK(opt.output_padding[d] < opt.stride[d] || opt.output_padding[d] < opt.dilation[d], op,
               ": output_padding ", pair_str(opt.output_padding), " must be smaller than either stride ",
               pair_str(opt.stride), " or dilation ", pair_str(opt.dilation), " in each dim (as PyTorch)");
}

// Geometry of a conv2d of an input of shape (N, C, H, W) with a weight of shape
// (OC, C, KH, KW): checks ranks, channels and that the dilated kernel fits in
// the padded input, and computes OH = (H + 2 pad - dil (KH-1) - 1) / stride + 1.
inline ConvGeometry conv2d(const char* op, const Shape& in, const Shape& ws, const Conv2dOptions& opt) {
  LOOM_CHECK(in.size() == 4, op, ": input must have 4 dims (N, C, H, W), got shape ", shape_str(in));
  LOOM_CHECK(ws.size() == 4, op, ": weight must have 4 dims (out_channels, in_channels, KH, KW), got shape ",
             shape_str(ws));
  LOOM_CHECK(in[1] == ws[1], op, ": input has ", in[1], " channels, weight expects ", ws[1], " (input shape ",
             shape_str(in), ", weight shape ", shape_str(ws), ")");
  LOOM_CHECK(ws[2] > 0 && ws[3] > 0, op, ": kernel size must be positive, weight shape ", shape_str(ws));
  ConvGeometry g;
  g.C = in[1];
  g.H = in[2];
  g.W = in[3];
  g.KH = ws[2];
  g.KW = ws[3];
  g.sh = opt.stride[0], g.sw = opt.stride[1];
  g.ph = opt.padding[0], g.pw = opt.padding[1];
  g.dh = opt.dilation[0], g.dw = opt.dilation[1];
  const int64_t ekh = g.dh * (g.KH - 1) + 1, ekw = g.dw * (g.KW - 1) + 1;  // dilated kernel extent
  LOOM_CHECK(g.H + 2 * g.ph >= ekh && g.W + 2 * g.pw >= ekw, op, ": kernel ", ekh, "x", ekw,
             " (dilated) is larger than the padded input ", g.H + 2 * g.ph, "x", g.W + 2 * g.pw, " (input shape ",
             shape_str(in), ", weight shape ", shape_str(ws), ", padding ", pair_str(opt.padding), ", dilation ",
             pair_str(opt.dilation), ")");
  g.OH = (g.H + 2 * g.ph - ekh) / g.sh + 1;  // OH = (H + 2 pad - dil (KH-1) - 1) / stride + 1
  g.OW = (g.W + 2 * g.pw - ekw) / g.sw + 1;
  return g;
}

// conv_transpose2d of an input (N, IC, H, W) with a weight (IC, OC, KH, KW):
// checks the shapes and returns the forward convolution it is the transpose of
// (image (OC, OH, OW) -> (IC, H, W)), with
// OH = (H-1) stride - 2 pad + dil (KH-1) + output_padding + 1.
inline ConvGeometry transposed(const char* op, const Shape& xs, const Shape& ws, const Conv2dOptions& opt) {
  LOOM_CHECK(xs.size() == 4, op, ": input must have 4 dims (N, C, H, W), got shape ", shape_str(xs));
  LOOM_CHECK(ws.size() == 4, op, ": weight must have 4 dims (in_channels, out_channels, KH, KW), got shape ",
             shape_str(ws));
  LOOM_CHECK(xs[1] == ws[0], op, ": input has ", xs[1], " channels, weight expects ", ws[0], " (input shape ",
             shape_str(xs), ", weight shape ", shape_str(ws), " is (in_channels, out_channels, KH, KW))");
  LOOM_CHECK(ws[2] > 0 && ws[3] > 0, op, ": kernel size must be positive, weight shape ", shape_str(ws));
  LOOM_CHECK(xs[2] > 0 && xs[3] > 0, op, ": input height and width must be positive, got shape ", shape_str(xs));
  const int64_t OH = (xs[2] - 1) * opt.stride[0] - 2 * opt.padding[0] + opt.dilation[0] * (ws[2] - 1) +
                     opt.output_padding[0] + 1;
  const int64_t OW = (xs[3] - 1) * opt.stride[1] - 2 * opt.padding[1] + opt.dilation[1] * (ws[3] - 1) +
                     opt.output_padding[1] + 1;
  LOOM_CHECK(OH > 0 && OW > 0, op, ": output size would be ", OH, "x", OW, ", it must be positive (input shape ",
             shape_str(xs), ", weight shape ", shape_str(ws), ", stride ", pair_str(opt.stride), ", padding ",
             pair_str(opt.padding), "); reduce the padding");
  ConvGeometry g;
  g.C = ws[1], g.H = OH, g.W = OW;
  g.KH = ws[2], g.KW = ws[3];
  g.OH = xs[2], g.OW = xs[3];
  g.sh = opt.stride[0], g.sw = opt.stride[1];
  g.ph = opt.padding[0], g.pw = opt.padding[1];
  g.dh = opt.dilation[0], g.dw = opt.dilation[1];
  return g;
}

// A defined bias must be 1-D with one value per output channel.
inline void check_bias_shape(const Shape& bias_shape, int64_t channels, const char* op) {
  LOOM_CHECK(bias_shape.size() == 1 && bias_shape[0] == channels, op, ": bias must have shape [", channels,
             "] (one value per output channel), got ", shape_str(bias_shape));
}

}  // namespace loom::conv_geometry
