// image_folder.h: every image under a folder, at any depth, as a dataset of
// good (label 0) images without masks: the input of a GAN trained on
// defect-free texture. Files are ordered by path (sorted, not filesystem
// order), so index i is the same file on every machine. category holds the
// image's folder relative to the root ("" for the root itself), like a class
// name; defect_type is "good".
#pragma once
#include <string>

#include "data/dataset_scan.h"

namespace loom::data {

// Throws when the root is missing or holds no images.
DatasetScan scan_image_folder(const std::string& root);

class ImageFolder : public FileListDataset {
 public:
  explicit ImageFolder(const std::string& root, DatasetOptions options = {});
};

}  // namespace loom::data
