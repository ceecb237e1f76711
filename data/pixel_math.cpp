// pixel_math.cpp: changed_pixels (see pixel_math.h).
#include "data/pixel_math.h"

#include "tensor/error.h"

namespace loom::data {

Tensor changed_pixels(const Tensor& before, const Tensor& after) {
  LOOM_CHECK(before.dim() == 3 && before.shape() == after.shape(), "changed_pixels: shapes ", shape_str(before.shape()),
             " and ", shape_str(after.shape()), " must be the same (C, H, W)");
  const Tensor a = before.to(Device::cpu()).to(DType::Float32).contiguous();
  const Tensor b = after.to(Device::cpu()).to(DType::Float32).contiguous();
  const int64_t channels = a.size(0), plane = a.size(1) * a.size(2);
  Tensor mask = Tensor::zeros({1, a.size(1), a.size(2)}, DType::UInt8);  // (1, H, W)
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  uint8_t* m = mask.data<uint8_t>();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < plane; ++i)
      if (pa[c * plane + i] != pb[c * plane + i]) m[i] = 255;
  return mask;
}

}  // namespace loom::data
