// mvtec_defect_crops.h: the multistage GAN's training pairs from a dataset in
// the MVTec AD layout (<cat>/train/good, <cat>/test/<defect>,
// <cat>/ground_truth/<defect>), for `loom train cgan --data DIR` (stage 1)
// and `loom train fusion --data DIR` (stage 2). DIR is one category or a root
// of categories. Sample i is built from defective test image i (with its
// mask) and, where it needs one, a train/good image of the same category,
// every draw from the Philox stream (seed, i 2^32); each sample is read once
// and kept.
//
// Stage 1 (make_mvtec_defect_crops), the paper's "defect patches cut from the
// defective samples, conditioned on the Gram matrices of their defect-free
// surroundings":
//   box   = the mask's bounding box; side = max(box height, box width) * 3 / 2,
//           at least S and at most the image's shorter side
//   x     = the side x side window centred on the box (moved inside the image),
//           area-resized to S x S
//   keep  = box grown by margin = ceil(side / 16) px on each side (clipped to
//           the image): the defect and a ring around it, where the texture may
//           still be disturbed (MVTec's masks are drawn by hand)
//   c     = a side x side window of the SAME defective image that does not
//           overlap keep (so it holds no mask pixel), drawn uniformly among all
//           such positions, area-resized to S x S: the defect's own defect-free
//           surroundings, at x's scale
//   fallback, only when no such window fits (side too large for the room
//           beside keep): c = a side x side window (at most the good image's
//           shorter side) at a uniform position of a train/good image of the
//           same category drawn uniformly, area-resized to S x S.
//   Which samples fall back is decided from the masks when the dataset is made
//   (all masks are read once then); crop_condition_counts gives the counts.
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
// when a category has no train/good image. make_mvtec_defect_crops reads
// every mask once when it is made (an unreadable one is named then). A mask
// whose size differs from its image's is reported (both files named) when that
// sample is first read.
std::shared_ptr<data::Dataset> make_mvtec_defect_crops(const std::string& dir, int64_t image_size, uint64_t seed);
std::shared_ptr<data::Dataset> make_mvtec_fusion_pool(const std::string& dir, int64_t image_size, uint64_t seed,
                                                      int64_t margin);

// How many of make_mvtec_defect_crops' samples take c from their own defective
// image and how many fall back to a train/good image. Throws when `crops` was
// not made by make_mvtec_defect_crops.
struct CropConditionCounts {
  int64_t own_image = 0;   // c beside the defect in the defective image
  int64_t good_image = 0;  // fallback: no room beside the defect
};
CropConditionCounts crop_condition_counts(const data::Dataset& crops);

// "conditions: N beside the defect in its own image, M from train/good (no room beside the defect)".
std::string describe_crop_conditions(const CropConditionCounts& counts);

}  // namespace loom::train
