// dagm.cpp: the DAGM 2007 layout reader (see dagm.h).
#include "data/dagm.h"

#include "tensor/error.h"

namespace loom::data {

bool is_dagm_class(const fs::path& dir) { return fs::is_directory(dir / "Train") || fs::is_directory(dir / "Test"); }

DatasetScan scan_dagm(const std::string& root) {
  require_dataset_root(root, "DAGM 2007");
  const std::vector<fs::path> classes = layout_units(root, is_dagm_class);
  LOOM_CHECK(!classes.empty(), "DAGM 2007: no class in ", root, " (a class is a folder ClassN with Train/ and Test/)");
  DatasetScan scan;
  scan.layout = Layout::Dagm;
  scan.root = root;
  for (const fs::path& class_dir : classes) {
    const std::string category = folder_name(class_dir);
    MaskIndex class_labels(class_dir / "Label", "_label");  // beside Train/ and Test/, if there
    for (const auto& [folder, split] : {std::pair{"Train", "train"}, std::pair{"Test", "test"}}) {
      const fs::path split_dir = class_dir / folder;
      MaskIndex split_labels(split_dir / "Label", "_label");
      MaskIndex& labels = fs::is_directory(split_dir / "Label") ? split_labels : class_labels;
      for (const fs::path& image : images_or_issue(split_dir, false, category, split, LabelFilter::Any, scan.issues)) {
        std::vector<std::string> mask_paths = labels.take(image);
        const bool defective = !mask_paths.empty();
        scan.files.push_back(
            {image.string(), std::move(mask_paths), defective ? 1 : 0, category, split, defective ? "defect" : "good"});
      }
      split_labels.report_unused(category, split, scan.issues);
    }
    class_labels.report_unused(category, "", scan.issues);
  }
  return scan;
}

DagmDataset::DagmDataset(const std::string& root, const Selection& selection, DatasetOptions options)
    : FileListDataset(select_files(scan_dagm(root), selection), options) {}

}  // namespace loom::data
