// layout.h: which reader a dataset folder needs. detect_layout looks, in this
// order, for
//   AITEX      <root>/Defect_images/ or <root>/NODefect_images/
//   DAGM 2007  <root>/ClassN/Train/ or Test/ (or <root>/Train/ itself)
//   MVTec AD   <root>/<category>/train/ or test/ (or <root>/train/ itself)
// and throws, naming the root and the layouts it looked for, when none fits.
// A plain folder of images is read with ImageFolder (image_folder.h), which
// detect_layout never guesses: every folder with images would fit it.
#pragma once
#include <memory>
#include <string>

#include "data/dataset_scan.h"

namespace loom::data {

Layout detect_layout(const std::string& root);

// The scan of `root` by the reader of its layout (detect_layout).
DatasetScan scan_dataset(const std::string& root);

// The dataset of `root` in its layout, restricted to `selection`.
std::shared_ptr<FileListDataset> open_dataset(const std::string& root, const Selection& selection = {},
                                              DatasetOptions options = {});

}  // namespace loom::data
