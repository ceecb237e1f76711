// layout.cpp: layout detection and the reader dispatch (see layout.h).
#include "data/layout.h"

#include "data/aitex.h"
#include "data/dagm.h"
#include "data/image_folder.h"
#include "data/mvtec.h"
#include "tensor/error.h"

namespace loom::data {

namespace {

// True when `dir` is one unit of the layout or one of its sub-folders is.
template <class IsUnit>
bool root_or_child(const fs::path& dir, IsUnit is_unit) {
  if (is_unit(dir)) return true;
  for (const fs::path& sub : list_subdirs(dir))
    if (is_unit(sub)) return true;
  return false;
}

}  // namespace

Layout detect_layout(const std::string& root) {
  require_dataset_root(root, "");
  if (is_aitex_root(root)) return Layout::Aitex;
  if (root_or_child(root, is_dagm_class)) return Layout::Dagm;
  if (root_or_child(root, is_mvtec_category)) return Layout::MvtecAD;
  detail::throw_error("dataset root ", root, " is in no known layout; looked for ",
                      "AITEX (Defect_images/, Mask_images/, NODefect_images/), ",
                      "DAGM 2007 (ClassN/Train/, ClassN/Test/ with Label/ inside), ",
                      "MVTec AD (<category>/train/good/, <category>/test/<defect>/, <category>/ground_truth/)");
}

DatasetScan scan_dataset(const std::string& root) {
  switch (detect_layout(root)) {
    case Layout::Aitex: return scan_aitex(root);
    case Layout::Dagm: return scan_dagm(root);
    case Layout::MvtecAD: return scan_mvtec(root);
    case Layout::ImageFolder: break;
  }
  return scan_image_folder(root);
}

std::shared_ptr<FileListDataset> open_dataset(const std::string& root, const Selection& selection,
                                              DatasetOptions options) {
  return std::make_shared<FileListDataset>(select_files(scan_dataset(root), selection), options);
}

}  // namespace loom::data
