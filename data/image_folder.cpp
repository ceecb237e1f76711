// image_folder.cpp: the recursive image-folder reader (see image_folder.h).
#include "data/image_folder.h"

#include "tensor/error.h"

namespace loom::data {

DatasetScan scan_image_folder(const std::string& root) {
  require_dataset_root(root, "ImageFolder");
  DatasetScan scan;
  scan.layout = Layout::ImageFolder;
  scan.root = root;
  for (const fs::path& image : list_images(root, /*recursive=*/true)) {
    SampleFile file;
    file.image_path = image.string();
    file.defect_type = "good";
    file.category = image.parent_path().lexically_relative(root).generic_string();
    if (file.category == ".") file.category.clear();
    scan.files.push_back(std::move(file));
  }
  LOOM_CHECK(!scan.files.empty(), "ImageFolder: no images (.png, .jpg, .jpeg, .bmp) in ", root, " or below it");
  return scan;
}

ImageFolder::ImageFolder(const std::string& root, DatasetOptions options)
    : FileListDataset(scan_image_folder(root).files, options) {}

}  // namespace loom::data
