// transforms_common.h: the argument check shared by the transform files
// (transforms_resize.cpp, transforms_geometry.cpp, transforms_color.cpp).
#pragma once
#include "tensor/tensor.h"

namespace loom::data::transforms_internal {

// Checks that img is an image (C, H, W) or a batch (N, C, H, W) with a
// non-empty plane, and returns it on the CPU, contiguous.
inline Tensor checked_image(const Tensor& img, const char* op) {
  LOOM_CHECK(img.defined(), op, ": the image tensor is undefined");
  LOOM_CHECK(img.dim() == 3 || img.dim() == 4, op, ": expected an image (C, H, W) or a batch (N, C, H, W), got shape ",
             shape_str(img.shape()));
  LOOM_CHECK(img.size(-1) > 0 && img.size(-2) > 0, op, ": the image ", shape_str(img.shape()), " has no pixels");
  return img.to(Device::cpu()).contiguous();
}

// The shape of img with its last two dims replaced by (h, w).
inline Shape with_plane_size(const Shape& shape, int64_t h, int64_t w) {
  Shape s = shape;
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return s;
}

}  // namespace loom::data::transforms_internal
