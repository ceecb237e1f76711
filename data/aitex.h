// aitex.h: the AITEX fabric defect layout:
//
//   <root>/Defect_images/NNNN_DDD_RR.png             defective images
//   <root>/Mask_images/NNNN_DDD_RR_mask.png           their masks (an image with
//                                                     two: _mask1.png, _mask2.png)
//   <root>/NODefect_images/<roll>/*.png               good images, by fabric roll
//
// defect_type is the defect code DDD of the file name ("002", "019", ...), or
// "defect" for a name not in that pattern; good images have "good". AITEX has
// no train/test split (split "") and no categories (category ""). Never
// downloaded: read when a user has it.
#pragma once
#include <string>

#include "data/dataset_scan.h"

namespace loom::data {

// True when `dir` holds Defect_images/ or NODefect_images/.
bool is_aitex_root(const fs::path& dir);

// Lists every image and every problem (missing or empty folders, defective
// images without masks, masks without images). Throws only when the root is
// missing.
DatasetScan scan_aitex(const std::string& root);

class AitexDataset : public FileListDataset {
 public:
  AitexDataset(const std::string& root, const Selection& selection = {}, DatasetOptions options = {});
};

}  // namespace loom::data
