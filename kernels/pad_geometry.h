// pad_geometry.h: the geometry of 2-D zero and reflect padding (output shape,
// argument checks, the source index of each output position), shared by the
// CPU (kernels/cpu/shape_ops.cpp) and CUDA (kernels/cuda/shape_ops.cu) code.
//
// Padding works on the last two dims (H, W); every leading dim is folded into
// P = numel / (H W) independent planes.
#pragma once
#include "kernels/hd.h"
#include "kernels/options.h"
#include "tensor/tensor.h"

namespace loom::pad_geometry {

inline const char* pad_mode_name(PadMode mode) { return mode == PadMode::Zero ? "zero" : "reflect"; }

// The padded geometry of an input shape (*, H, W).
struct PadGeometry {
  int64_t planes, H, W, OH, OW;
  Shape out_shape;
};

inline PadGeometry pad_geometry(const Shape& in, const Pad2d& pad, PadMode mode, const char* op) {
  LOOM_CHECK(in.size() >= 2, op, ": input must have at least 2 dims (*, H, W), got ", shape_str(in));
  const int64_t left = pad[0], right = pad[1], top = pad[2], bottom = pad[3];
  PadGeometry g;
  g.H = in[in.size() - 2];
  g.W = in[in.size() - 1];
  g.planes = g.H * g.W > 0 ? numel_of(in) / (g.H * g.W) : 0;
  if (mode == PadMode::Reflect) {
    LOOM_CHECK(left >= 0 && right >= 0 && top >= 0 && bottom >= 0, op,
               ": reflect padding must be non-negative, got (left ", left, ", right ", right, ", top ", top,
               ", bottom ", bottom, ")");
    LOOM_CHECK(left < g.W && right < g.W && top < g.H && bottom < g.H, op, ": reflect padding (left ", left,
               ", right ", right, ", top ", top, ", bottom ", bottom,
               ") must be smaller than the padded dims (H ", g.H, ", W ", g.W, ") of input ", shape_str(in));
  }
  g.OH = g.H + top + bottom;
  g.OW = g.W + left + right;
  LOOM_CHECK(g.OH > 0 && g.OW > 0, op, ": ", pad_mode_name(mode), " padding (left ", left, ", right ", right,
             ", top ", top, ", bottom ", bottom, ") of input ", shape_str(in), " leaves an empty output (",
             g.OH, ", ", g.OW, ")");
  g.out_shape = in;
  g.out_shape[in.size() - 2] = g.OH;
  g.out_shape[in.size() - 1] = g.OW;
  return g;
}

// The source index in the input (size n) of output position o along one axis
// padded by `before`, or -1 for a zero. Zero: src = o - before. Reflect
// (mirror without repeating the edge): src = -i for i < 0, 2 (n - 1) - i for i >= n.
LOOM_HD inline int64_t pad_source(int64_t o, int64_t n, int64_t before, bool reflect) {
  int64_t i = o - before;
  if (reflect) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
  } else if (i < 0 || i >= n) {
    i = -1;
  }
  return i;
}

// The output positions along one axis that read input i (the gather form of
// the backward), in increasing order: the candidates before - i (left
// mirror), i + before (itself) and 2 (n - 1) - i + before (right mirror),
// each kept when inside [0, out), not a repeat, and mapped back to i by
// pad_source.
struct Readers {
  int64_t at[3];
  int count;
};
LOOM_HD inline Readers pad_readers(int64_t i, int64_t n, int64_t out, int64_t before, bool reflect) {
  const int64_t candidates[3] = {before - i, i + before, 2 * (n - 1) - i + before};
  Readers r{{0, 0, 0}, 0};
  for (int k = 0; k < 3; ++k) {
    const int64_t o = candidates[k];
    if (o < 0 || o >= out) continue;
    if (r.count > 0 && r.at[r.count - 1] >= o) continue;  // a repeat (i = 0 or i = n - 1)
    if (pad_source(o, n, before, reflect) != i) continue;
    r.at[r.count++] = o;
  }
  return r;
}

}  // namespace loom::pad_geometry
