// aitex.cpp: the AITEX layout reader (see aitex.h).
#include "data/aitex.h"

#include <algorithm>
#include <cctype>

namespace loom::data {

namespace {

// "0001_002_00" -> "002"; "defect" when the name has not three numeric fields.
std::string defect_code(const std::string& stem) {
  std::vector<std::string> fields(1);
  for (char c : stem) {
    if (c == '_')
      fields.emplace_back();
    else
      fields.back() += c;
  }
  auto numeric = [](const std::string& f) {
    return !f.empty() && std::all_of(f.begin(), f.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  if (fields.size() == 3 && std::all_of(fields.begin(), fields.end(), numeric)) return fields[1];
  return "defect";
}

}  // namespace

bool is_aitex_root(const fs::path& dir) {
  return fs::is_directory(dir / "Defect_images") || fs::is_directory(dir / "NODefect_images");
}

DatasetScan scan_aitex(const std::string& root) {
  require_dataset_root(root, "AITEX");
  const fs::path dir = root;
  DatasetScan scan;
  scan.layout = Layout::Aitex;
  scan.root = root;
  const std::vector<fs::path> defect_images =
      images_or_issue(dir / "Defect_images", false, "", "", LabelFilter::Defective, scan.issues);
  if (!defect_images.empty() && !fs::is_directory(dir / "Mask_images"))
    scan.issues.push_back({LayoutIssue::Kind::MissingFolder, (dir / "Mask_images").string(),
                           "missing folder " + (dir / "Mask_images").string() + " (masks of the defective images)", "",
                           "", LabelFilter::Defective});
  MaskIndex masks(dir / "Mask_images", "_mask");
  for (const fs::path& image : defect_images) {
    std::vector<std::string> mask_paths = masks.take(image);
    if (mask_paths.empty() && fs::is_directory(dir / "Mask_images"))
      scan.issues.push_back(
          {LayoutIssue::Kind::MissingMask, image.string(),
           "defective image " + image.string() + " has no mask (expected " + masks.expected_path(image) + ")", "", "",
           LabelFilter::Defective});
    scan.files.push_back({image.string(), std::move(mask_paths), 1, "", "", defect_code(image.stem().string())});
  }
  masks.report_unused("", "", scan.issues);
  for (const fs::path& image : images_or_issue(dir / "NODefect_images", true, "", "", LabelFilter::Good, scan.issues))
    scan.files.push_back({image.string(), {}, 0, "", "", "good"});
  return scan;
}

AitexDataset::AitexDataset(const std::string& root, const Selection& selection, DatasetOptions options)
    : FileListDataset(select_files(scan_aitex(root), selection), options) {}

}  // namespace loom::data
