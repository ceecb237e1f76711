// shape_ops.cpp: cat, 2-D padding (zero and reflect) with its backward, and
// one_hot, on the CPU.
//
// Padding works on the last two dims (H, W); every leading dim is folded into
// P = numel / (H W) independent planes. Each plane is handled by one thread and
// the reflect backward scatter-adds a plane sequentially, in output order, so
// results never depend on the thread count.
#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_util.h"
#include "kernels/cat_shape.h"
#include "kernels/pad_geometry.h"

namespace loom::cpu {

namespace {

using pad_geometry::pad_geometry;
using pad_geometry::PadGeometry;

// For each output position along one axis, its source index in the input, or
// -1 for a zero (rule: pad_geometry::pad_source).
std::vector<int64_t> pad_source_table(int64_t n, int64_t out, int64_t before, PadMode mode) {
  std::vector<int64_t> src(out);
  for (int64_t o = 0; o < out; ++o) src[o] = pad_geometry::pad_source(o, n, before, mode == PadMode::Reflect);
  return src;
}

}  // namespace

// out = the inputs side by side along dim; all other dims must agree.
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  const char* op = "cat";
  const cat_shape::CatShape cs = cat_shape::cat_shape(xs, dim, op);
  const int64_t d = cs.dim;
  const Tensor& first = xs[0];
  Tensor out = Tensor::empty(cs.out_shape, first.dtype(), first.device());
  int64_t start = 0;  // where the next input begins along dim
  for (const Tensor& x : xs) {
    if (x.numel() > 0)  // out[..., start:start+size_d, ...] = x
      out.alias(x.shape(), out.strides(), out.offset() + start * out.strides()[d]).copy_(x);
    start += x.shape()[d];
  }
  return out;
}

// out[..., oh, ow] = x[..., src_h(oh), src_w(ow)] (0 where there is no source).
Tensor pad2d(const Tensor& x, const Pad2d& pad, PadMode mode) {
  const char* op = "pad2d";
  LOOM_CHECK(x.defined(), op, ": input is undefined");
  const PadGeometry g = pad_geometry(x.shape(), pad, mode, op);
  const std::vector<int64_t> src_h = pad_source_table(g.H, g.OH, pad[2], mode);
  const std::vector<int64_t> src_w = pad_source_table(g.W, g.OW, pad[0], mode);
  const Tensor xd = raw_contiguous(x);  // (P, H, W)
  return LOOM_DISPATCH_ALL(x.dtype(), op, [&] {
    Tensor out = Tensor::empty(g.out_shape, x.dtype());  // (P, OH, OW)
    const scalar_t* xp = xd.data<scalar_t>();
    scalar_t* yp = out.data<scalar_t>();
    for_each_plane(g.planes, g.OH * g.OW, [&](int64_t p) {
      const scalar_t* xs = xp + p * g.H * g.W;
      scalar_t* ys = yp + p * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t h = src_h[oh], w = src_w[ow];
          ys[oh * g.OW + ow] = (h < 0 || w < 0) ? scalar_t(0) : xs[h * g.W + w];
        }
    });
    return out;
  });
}

// The adjoint of pad2d: dL/dx[h, w] = sum of g[oh, ow] over the outputs that
// read (h, w). Zero mode: one output per input (or none where the pad crops).
// Reflect: an edge-near input is read by up to four outputs.
Tensor pad2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pad2d& pad, PadMode mode) {
  const char* op = "pad2d_backward";
  check_float(grad_out, op, "grad_out");
  const PadGeometry g = pad_geometry(input_shape, pad, mode, op);
  check_shape(grad_out, g.out_shape, op, "grad_out");
  const std::vector<int64_t> src_h = pad_source_table(g.H, g.OH, pad[2], mode);
  const std::vector<int64_t> src_w = pad_source_table(g.W, g.OW, pad[0], mode);
  const Tensor gd = raw_contiguous(grad_out);  // (P, OH, OW)
  return LOOM_DISPATCH_FLOATING(grad_out.dtype(), op, [&] {
    Tensor gx = Tensor::empty(input_shape, grad_out.dtype());  // (P, H, W)
    const scalar_t* gp = gd.data<scalar_t>();
    scalar_t* gxp = gx.data<scalar_t>();
    for_each_plane(g.planes, g.OH * g.OW, [&](int64_t p) {
      std::vector<double> acc(g.H * g.W, 0.0);  // (H, W)
      const scalar_t* gs = gp + p * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t h = src_h[oh], w = src_w[ow];
          if (h >= 0 && w >= 0) acc[h * g.W + w] += static_cast<double>(gs[oh * g.OW + ow]);
        }
      for (int64_t i = 0; i < g.H * g.W; ++i) gxp[p * g.H * g.W + i] = static_cast<scalar_t>(acc[i]);
    });
    return gx;
  });
}

// out[..., k] = (labels[...] == k), shape labels.shape + [num_classes].
// num_classes = -1 takes max(labels) + 1, as PyTorch.
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype) {
  const char* op = "one_hot";
  LOOM_CHECK(labels.defined(), op, ": labels are undefined");
  LOOM_CHECK(labels.dtype() == DType::Int64, op, ": labels must be int64, got ", dtype_name(labels.dtype()),
             " (shape ", shape_str(labels.shape()), ")");
  const std::vector<int64_t> values = labels.to_vector<int64_t>();
  if (num_classes == -1) {
    LOOM_CHECK(!values.empty(), op, ": cannot infer num_classes (-1) from empty labels");
    num_classes = *std::max_element(values.begin(), values.end()) + 1;
  }
  LOOM_CHECK(num_classes > 0, op, ": num_classes must be positive (or -1 to infer), got ", num_classes);
  for (size_t i = 0; i < values.size(); ++i)
    LOOM_CHECK(values[i] >= 0 && values[i] < num_classes, op, ": label ", values[i], " at flat position ", i,
               " is outside [0, ", num_classes, ") (labels shape ", shape_str(labels.shape()), ")");
  Shape out_shape = labels.shape();
  out_shape.push_back(num_classes);
  Tensor out = Tensor::zeros(out_shape, dtype);  // (*, num_classes)
  LOOM_DISPATCH_ALL(dtype, op, [&] {
    scalar_t* o = out.data<scalar_t>();
    for (size_t i = 0; i < values.size(); ++i) o[static_cast<int64_t>(i) * num_classes + values[i]] = scalar_t(1);
  });
  return out;
}

}  // namespace loom::cpu
