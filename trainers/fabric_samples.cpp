// fabric_samples.cpp: procedural fabric images with masks (see fabric_samples.h).
#include "trainers/fabric_samples.h"

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "data/fabric/dataset.h"
#include "data/pixel_math.h"
#include "data/transforms.h"
#include "tensor/error.h"

namespace loom::train {

Tensor to_channels(const Tensor& rgb, int64_t channels) {
  LOOM_CHECK(channels == 1 || channels == 3, "channels must be 1 or 3, got ", channels);
  if (channels == 3) return rgb;
  // BT.601 luma: 0.299 R + 0.587 G + 0.114 B
  return (rgb.select(0, 0) * data::kLumaR + rgb.select(0, 1) * data::kLumaG + rgb.select(0, 2) * data::kLumaB)
      .unsqueeze(0);
}

MaskedImage fabric_masked_image(const std::string& category, std::optional<data::fabric::DefectKind> defect,
                                int64_t size, int64_t channels, Generator& gen) {
  NoGradGuard no_grad;
  const data::fabric::FabricSample s = data::fabric::make_fabric_sample(category, defect, 2 * size, false, gen);
  MaskedImage out;
  out.image = to_channels(data::resize_area(s.image, size, size), channels).contiguous();  // (C, S, S)
  if (s.mask.defined()) {
    const Tensor area = data::resize_area(s.mask.to(DType::Float32), size, size);  // (1, S, S), > 0 near the defect
    out.mask = gt(area, Tensor::zeros(area.shape())).to(DType::Float32).contiguous();
  } else {
    out.mask = Tensor::zeros({1, size, size});
  }
  return out;
}

}  // namespace loom::train
