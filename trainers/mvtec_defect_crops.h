// mvtec_defect_crops.h: the multistage GAN's training pairs from a dataset in
// the MVTec AD layout (<cat>/train/good, <cat>/test/<defect>,
// <cat>/ground_truth/<defect>), for `loom train cgan --data DIR` (stage 1)
// and `loom train fusion --data DIR` (stage 2). DIR is one category or a root
// of categories. Sample i is built from defective test image i (with its
// mask) and a train/good image of the same category, picked uniformly from
// the Philox stream (seed, i 2^32); each sample is read once and kept.
//
// Stage 1 (make_mvtec_defect_crops):
//   box   = the mask's bounding box; side = max(box height, box width) * 3 / 2,
//           at least S and at most the image's shorter side
//   x     = the side x side window centred on the box (moved inside the image),
//           area-resized to S x S
//   c     = a side x side window at a random position of the good image (same
//           stream), area-resized to S x S
//   sample.image = cat(x, c) (6, S, S) in [0, 1], like CganDefectPool (defect_scenes.h).
//
// Stage 2 (make_mvtec_fusion_pool), like FusionDefectPool:
//   y = the defective image area-resized to S x S (not cropped: the image's
//       aspect ratio is not kept; MVTec's images are square)
//   m = (area-resized mask > 0.5); where no pixel passes (a defect smaller than
//       half a resized pixel), m = (area-resized mask > 0) instead
//   b = the good image area-resized to S x S
//   x = paste_defect_window(y, m, b, margin): y outside the window (the mask's
//       bounding box + margin) and on the defect's pixels, b elsewhere in the
//       window. There is no defect-free twin of a real defective image, so the
//       pair (x, y) is pixel-aligned everywhere except the window's texture,
//       which T must make match y's again.
//   sample.image = cat(x, y, b) (9, S, S) in [0, 1], sample.mask = m (1, S, S),
//   sample.label = 1. b is not y without its defect (it is another photograph),
//   so the DGT encoding, which needs that clean twin, is not built from it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "data/dataset.h"

namespace loom::train {

// Both throw naming DIR when it is not in the MVTec AD layout or has no
// defective test image, and naming the category and a defective image of it
// when a category has no train/good image. A mask whose size differs from its
// image's is reported (both files named) when that sample is first read.
std::shared_ptr<data::Dataset> make_mvtec_defect_crops(const std::string& dir, int64_t image_size, uint64_t seed);
std::shared_ptr<data::Dataset> make_mvtec_fusion_pool(const std::string& dir, int64_t image_size, uint64_t seed,
                                                      int64_t margin);

}  // namespace loom::train
