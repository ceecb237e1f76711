// fabric_samples.h: procedural fabric images with exact defect masks for the
// detection trainers (wae: validation images; unet: training and sheet images),
// drawn the way the training pool of image_source.h draws its images:
// rendered at 2 S by data::fabric::make_fabric_sample, shrunk to S x S by area
// averaging, gray by BT.601 luma when C = 1. The mask is shrunk the same way
// and kept where any of the 2 x 2 source pixels was defective (area value > 0).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "data/fabric/defects.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace loom::train {

struct MaskedImage {
  Tensor image;  // (C, S, S) float32 in [0, 1]
  Tensor mask;   // (1, S, S) float32 0/1 (all 0 for a good image)
};

// An image of fabric `category` (data/fabric/presets.h), defect-free or with
// one defect of `defect`, all drawn from gen.
MaskedImage fabric_masked_image(const std::string& category, std::optional<data::fabric::DefectKind> defect,
                                int64_t size, int64_t channels, Generator& gen);

// (3, H, W) -> (1, H, W) by BT.601 luma when channels == 1; the image itself when 3.
Tensor to_channels(const Tensor& rgb, int64_t channels);

}  // namespace loom::train
