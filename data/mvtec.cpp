// mvtec.cpp: the MVTec AD layout reader (see mvtec.h).
#include "data/mvtec.h"

#include <algorithm>

#include "tensor/error.h"

namespace loom::data {

namespace {

using Kind = LayoutIssue::Kind;

void scan_train(const fs::path& category_dir, const std::string& category, DatasetScan& scan) {
  const fs::path train = category_dir / "train";
  if (!fs::is_directory(train)) {
    scan.issues.push_back({Kind::MissingFolder, train.string(), "missing folder " + train.string(), category, "train",
                           LabelFilter::Good});
    return;
  }
  for (const fs::path& sub : list_subdirs(train))
    if (sub.filename() != "good")
      scan.issues.push_back({Kind::Unexpected, sub.string(),
                             "folder " + sub.string() + " ignored: MVTec AD trains on train/good only", category,
                             "train"});
  for (const fs::path& image :
       images_or_issue(train / "good", false, category, "train", LabelFilter::Good, scan.issues))
    scan.files.push_back({image.string(), {}, 0, category, "train", "good"});
}

void scan_test(const fs::path& category_dir, const std::string& category, DatasetScan& scan) {
  const fs::path test = category_dir / "test", ground_truth = category_dir / "ground_truth";
  if (!fs::is_directory(test)) {
    scan.issues.push_back({Kind::MissingFolder, test.string(), "missing folder " + test.string(), category, "test"});
    return;
  }
  const std::vector<fs::path> defect_dirs = list_subdirs(test);
  if (defect_dirs.empty())
    scan.issues.push_back({Kind::EmptyFolder, test.string(),
                           "folder " + test.string() + " holds no defect-type folders (good/, <defect>/)", category,
                           "test"});
  for (const fs::path& defect_dir : defect_dirs) {
    const std::string defect = defect_dir.filename().string();
    const LabelFilter concerns = defect == "good" ? LabelFilter::Good : LabelFilter::Defective;
    const std::vector<fs::path> images = images_or_issue(defect_dir, false, category, "test", concerns, scan.issues);
    if (defect == "good") {
      for (const fs::path& image : images) scan.files.push_back({image.string(), {}, 0, category, "test", "good"});
      continue;
    }
    MaskIndex masks(ground_truth / defect, "_mask");
    for (const fs::path& image : images) {
      std::vector<std::string> mask_paths = masks.take(image);
      if (mask_paths.empty())
        scan.issues.push_back(
            {Kind::MissingMask, image.string(),
             "defective image " + image.string() + " has no mask (expected " + masks.expected_path(image) + ")",
             category, "test", LabelFilter::Defective});
      scan.files.push_back({image.string(), std::move(mask_paths), 1, category, "test", defect});
    }
    masks.report_unused(category, "test", scan.issues);
  }
  // Masks of a defect type that test/ does not have.
  if (fs::is_directory(ground_truth))
    for (const fs::path& mask_dir : list_subdirs(ground_truth))
      if (!fs::is_directory(test / mask_dir.filename()))
        MaskIndex(mask_dir, "_mask").report_unused(category, "test", scan.issues);
}

}  // namespace

bool is_mvtec_category(const fs::path& dir) {
  return fs::is_directory(dir / "train") || fs::is_directory(dir / "test");
}

DatasetScan scan_mvtec(const std::string& root) {
  require_dataset_root(root, "MVTec AD");
  const std::vector<fs::path> categories = layout_units(root, is_mvtec_category);
  LOOM_CHECK(!categories.empty(), "MVTec AD: no category in ", root,
             " (a category is a folder with train/good/ and test/<defect>/)");
  DatasetScan scan;
  scan.layout = Layout::MvtecAD;
  scan.root = root;
  for (const fs::path& dir : categories) {
    const std::string category = folder_name(dir);
    scan_train(dir, category, scan);
    scan_test(dir, category, scan);
  }
  return scan;
}

std::string numbered_stem(int64_t k, int64_t count) {
  const size_t digits = std::max<size_t>(3, std::to_string(std::max<int64_t>(count - 1, 0)).size());
  const std::string s = std::to_string(k);
  return std::string(digits > s.size() ? digits - s.size() : 0, '0') + s;
}

MvtecDataset::MvtecDataset(const std::string& root, const Selection& selection, DatasetOptions options)
    : FileListDataset(select_files(scan_mvtec(root), selection), options) {}

}  // namespace loom::data
