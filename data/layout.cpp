// layout.cpp: layout detection and the reader dispatch (see layout.h).
#include "data/layout.h"

#include "data/aitex.h"
#include "data/dagm.h"
#include "data/image_folder.h"
#include "data/mvtec.h"
#include "tensor/error.h"

namespace loom::data {

Layout detect_layout(const std::string& root) {
  require_dataset_root(root, "");
  if (is_aitex_root(root)) return Layout::Aitex;
  if (!layout_units(root, is_dagm_class).empty()) return Layout::Dagm;
  if (!layout_units(root, is_mvtec_category).empty()) return Layout::MvtecAD;
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
