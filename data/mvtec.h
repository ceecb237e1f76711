// mvtec.h: the MVTec AD layout (also used by many fabric sets converted to it):
//
//   <root>/<category>/train/good/*.png                       good images
//   <root>/<category>/test/good/*.png                        good images
//   <root>/<category>/test/<defect>/<name>.png               defective images
//   <root>/<category>/ground_truth/<defect>/<name>_mask.png  their masks
//
// Categories are the sub-folders of the root that hold a train/ or test/ folder
// (or the root itself when it does: a single category); defect types are the
// sub-folders of test/. Everything is sorted by name.
#pragma once
#include <string>

#include "data/dataset_scan.h"

namespace loom::data {

// True when `dir` looks like one MVTec AD category (has train/ or test/).
bool is_mvtec_category(const fs::path& dir);

// Lists every image and every problem (missing or empty folders, defective
// images without masks, masks without images). Throws only when the root is
// missing or holds no category.
DatasetScan scan_mvtec(const std::string& root);

// The selected images (e.g. {.category = "carpet", .split = Split::Train}).
// Throws naming the path on a missing or empty folder or a missing mask in the
// selection, and on an unknown category.
class MvtecDataset : public FileListDataset {
 public:
  MvtecDataset(const std::string& root, const Selection& selection, DatasetOptions options = {});
};

// For writers of the layout (loom fabric, loom synth): the file stem of image
// k of `count` in one folder, k zero-padded to at least three digits and to
// as many as count - 1 has ("007" of 20, "0042" of 1500), so that names sort
// in number order.
std::string numbered_stem(int64_t k, int64_t count);

}  // namespace loom::data
