// resample_geometry.h: PyTorch's source-index rules of 2-D nearest and
// bilinear upsampling and their argument checks, shared by the CPU
// (kernels/cpu/resample.cpp) and CUDA (kernels/cuda/resample.cu) code.
#pragma once
#include "kernels/hd.h"
#include "tensor/tensor.h"

namespace loom::resample_geometry {

inline void check_sizes(const Shape& in, int64_t out_h, int64_t out_w, const char* op) {
  LOOM_CHECK(in.size() == 4, op, ": input must have shape (N, C, H, W), got ", shape_str(in));
  LOOM_CHECK(in[2] > 0 && in[3] > 0, op, ": input ", shape_str(in), " has an empty spatial dim");
  LOOM_CHECK(out_h > 0 && out_w > 0, op, ": output size must be positive, got (", out_h, ", ", out_w, ")");
}

// A resampling backward gets grad_out (N, C, OH, OW) for an input (N, C, H, W)
// (the dtype is checked by the caller).
inline void check_backward_shapes(const Tensor& grad_out, const Shape& input_shape, const char* op) {
  LOOM_CHECK(grad_out.dim() == 4, op, ": grad_out must have 4 dims, got shape ", shape_str(grad_out.shape()));
  const int64_t out_h = grad_out.shape()[2], out_w = grad_out.shape()[3];
  check_sizes(input_shape, out_h, out_w, op);
  check_shape(grad_out, {input_shape[0], input_shape[1], out_h, out_w}, op, "grad_out");
}

// Nearest ('nearest' mode in PyTorch): src = min(floor(dst in / out), in - 1),
// computed exactly in integers.
LOOM_HD inline int64_t nearest_source(int64_t dst, int64_t in, int64_t out) {
  const int64_t s = (dst * in) / out;  // floor(dst in / out)
  return s < in - 1 ? s : in - 1;
}

// One output position of a bilinear axis: value = l0 x[i0] + l1 x[i1].
struct LinearTap {
  int64_t i0, i1;
  double l0, l1;
};

// The scale of area_pixel_compute_source_index (see linear_tap).
LOOM_HD inline double linear_scale(int64_t in, int64_t out, bool align_corners) {
  return align_corners ? (out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0)
                       : static_cast<double>(in) / static_cast<double>(out);
}

// PyTorch's area_pixel_compute_source_index:
//   align_corners: src = dst (in - 1) / (out - 1)   (0 when out == 1)
//   otherwise:     src = max((dst + 0.5) in / out - 0.5, 0)
// i0 = floor(src), i1 = min(i0 + 1, in - 1), l1 = src - i0, l0 = 1 - l1.
// Equal sizes are the identity. `scale` is linear_scale(in, out, align_corners).
LOOM_HD inline LinearTap linear_tap(int64_t dst, int64_t in, int64_t out, double scale, bool align_corners) {
  if (in == out) return {dst, dst, 1.0, 0.0};
  double src = align_corners ? scale * static_cast<double>(dst) : scale * (static_cast<double>(dst) + 0.5) - 0.5;
  if (src < 0) src = 0;
  const int64_t i0 = static_cast<int64_t>(src);  // floor, src >= 0
  const int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
  const double l1 = src - static_cast<double>(i0);
  return {i0, i1, 1.0 - l1, l1};
}

// ---- the outputs that read one input position (the gather form of the backward) ----

// Outputs [lo, hi) along one axis.
struct Range {
  int64_t lo, hi;
};

// The first d in [0, out) with key(d) > bound, for a key non-decreasing in d
// (out when there is none): a binary search.
template <class Key>
LOOM_HD int64_t first_above(int64_t out, int64_t bound, const Key& key) {
  int64_t lo = 0, hi = out;  // the answer lies in [lo, hi]
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (key(mid) > bound)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

struct NearestSourceKey {
  int64_t in, out;
  LOOM_HD int64_t operator()(int64_t d) const { return nearest_source(d, in, out); }
};
struct TapKey {  // i0 (first = true) or i1 of the bilinear tap of output d
  int64_t in, out;
  double scale;
  bool align_corners, first;
  LOOM_HD int64_t operator()(int64_t d) const {
    const LinearTap t = linear_tap(d, in, out, scale, align_corners);
    return first ? t.i0 : t.i1;
  }
};

// The outputs whose nearest source is input i (src is non-decreasing in d).
LOOM_HD inline Range nearest_readers(int64_t i, int64_t in, int64_t out) {
  const NearestSourceKey key{in, out};
  return {first_above(out, i - 1, key), first_above(out, i, key)};
}

// The outputs whose bilinear taps touch input i: i1(d) >= i and i0(d) <= i
// (i0 and i1 are both non-decreasing in d, and i1 is i0 or i0 + 1).
LOOM_HD inline Range bilinear_readers(int64_t i, int64_t in, int64_t out, double scale, bool align_corners) {
  return {first_above(out, i - 1, TapKey{in, out, scale, align_corners, false}),
          first_above(out, i, TapKey{in, out, scale, align_corners, true})};
}

}  // namespace loom::resample_geometry
