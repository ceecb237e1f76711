// dagm.h: the DAGM 2007 layout (the competition release with Train/Test):
//
//   <root>/ClassN/Train/NNNN.PNG                  images (Test/ alike)
//   <root>/ClassN/Train/Label/NNNN_label.PNG      mask of each defective image
//
// An image with a label file is defective (label 1, defect_type "defect"), one
// without is good. A Label/ folder directly in ClassN/ (beside Train/ and
// Test/) is read too, for copies arranged that way; it serves both splits,
// while a split's own Label/ wins. Classes are the sub-folders of the root
// holding Train/ or Test/ (or the root itself: a single class); the category of
// a sample is its class folder's name. Never downloaded: read when a user has it.
#pragma once
#include <string>

#include "data/dataset_scan.h"

namespace loom::data {

// True when `dir` looks like one DAGM class (has Train/ or Test/).
bool is_dagm_class(const fs::path& dir);

// Lists every image and every problem (missing or empty Train/Test folders,
// label files without images). Throws only when the root is missing or holds
// no class.
DatasetScan scan_dagm(const std::string& root);

class DagmDataset : public FileListDataset {
 public:
  DagmDataset(const std::string& root, const Selection& selection, DatasetOptions options = {});
};

}  // namespace loom::data
