// mvtec_defect_crops.h: the stage-1 (cgan) training pairs from a dataset in
// the MVTec AD layout (<cat>/train/good, <cat>/test/<defect>,
// <cat>/ground_truth/<defect>), for `loom train cgan --data DIR`.
//
// Sample i = defective test image i (every category under DIR, or DIR itself
// when it is one category) with its mask:
//   box   = the mask's bounding box; side = max(box height, box width) * 3 / 2,
//           at least S and at most the image's shorter side
//   x     = the side x side window centred on the box (moved inside the image),
//           area-resized to S x S
//   c     = a side x side window at a random position of a train/good image of
//           the same category (image and position drawn from the Philox stream
//           (seed, i 2^32)), area-resized to S x S
// sample.image = cat(x, c) (6, S, S) in [0, 1], like CganDefectPool
// (defect_scenes.h); each sample is read once and kept.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "data/dataset.h"

namespace loom::train {

// Throws naming DIR when it has no defective test image with a mask, or a
// category without train/good images.
std::shared_ptr<data::Dataset> make_mvtec_defect_crops(const std::string& dir, int64_t image_size, uint64_t seed);

}  // namespace loom::train
