// file_list_dataset.h: the Dataset every folder reader returns. A reader scans
// its layout into a sorted list of SampleFiles (which image, which mask files,
// which label); FileListDataset loads them: image in the chosen colour mode,
// masks merged and made 0/1, sizes checked against each other, optional resize.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace loom::data {

// One image of a dataset, as the layout describes it.
struct SampleFile {
  std::string image_path;
  // The defect masks of a defective image (usually one; AITEX has a few images
  // with two, which are merged: a pixel is defective if any mask marks it).
  // Empty for good images, and for a defective image whose mask is missing
  // (DatasetScan reports that as an issue).
  std::vector<std::string> mask_paths;
  int64_t label = 0;        // 0 good, 1 defective
  std::string category;     // "" where the layout has none
  std::string split;        // "train", "test", or "" where the layout has none
  std::string defect_type;  // "good" for good images
};

// Loads a defect mask as float32 (1, H, W): a pixel is 1 when its gray value
// is above half (> 127 of 255) in any of `mask_paths`, else 0. All masks must
// have the same size; `image_path` is named in the error when they do not.
Tensor load_mask(const std::vector<std::string>& mask_paths, const std::string& image_path);

// The error text for a mask whose size differs from its image's:
// "mask <mask_path> is 64x48 but its image <image_path> is 64x64 (width x height)".
std::string mask_size_mismatch(const std::string& mask_path, int64_t mask_width, int64_t mask_height,
                               const std::string& image_path, int64_t image_width, int64_t image_height);

class FileListDataset : public Dataset {
 public:
  FileListDataset(std::vector<SampleFile> files, DatasetOptions options = {});

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  // Throws naming the file when the image or mask cannot be read, when a
  // defective image has no mask, or when the mask's size differs from the image's.
  Sample get(int64_t index) const override;

  const std::vector<SampleFile>& files() const { return files_; }
  const DatasetOptions& options() const { return options_; }

 private:
  std::vector<SampleFile> files_;
  DatasetOptions options_;
};

}  // namespace loom::data
